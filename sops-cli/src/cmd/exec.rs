//! `rsops exec-env` and `exec-file`: run a command with the decrypted file as environment
//! variables or as a file, passing the command's exit code through. `exec-env` never writes
//! plaintext to disk; `exec-file` hands it over through a FIFO (or, with `--no-fifo`, a 0600
//! file) in a private temporary folder that is removed afterwards.

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
    /// Run the command as this user (from /etc/passwd; needs root).
    #[arg(long)]
    pub user: Option<String>,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
}

/// Options of `exec-file`.
#[derive(clap::Args, Debug)]
pub struct FileArgs {
    /// The encrypted file.
    pub file: Option<PathBuf>,
    /// The command, run with `/bin/sh -c`; every `{}` is replaced by the plaintext file's path.
    pub command: Option<String>,
    /// Write a regular 0600 file instead of a FIFO.
    #[arg(long = "no-fifo")]
    pub no_fifo: bool,
    /// The plaintext file's name inside the private folder (default `tmp-file`).
    #[arg(long)]
    pub filename: Option<String>,
    /// Accepted for compatibility; background mode was removed from sops.
    #[arg(long)]
    pub background: bool,
    /// Run the command as this user (from /etc/passwd; needs root). The private folder and
    /// the plaintext file are handed to that user.
    #[arg(long)]
    pub user: Option<String>,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
    /// Output format of the plaintext file (default: from the extension).
    #[arg(long = "output-type")]
    pub output_type: Option<String>,
}

/// Runs exec-file; returns the child's exit code.
pub fn run_file(args: &FileArgs) -> Result<u8, CliError> {
    let file = existing_file(args.file.as_deref())?;
    let command = args
        .command
        .as_deref()
        .ok_or_else(|| CliError::new(codes::GENERIC, "error: missing the command argument"))?;
    let (input_format, output_format) = formats(
        &file.to_string_lossy(),
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    );
    let user = args.user.as_deref().map(lookup_user).transpose()?;
    let tree = decrypt_tree(&file, input_format)?;
    let plain = zeroize::Zeroizing::new(
        sops_core::store::emit(output_format, &tree, &sops_core::StoreOptions::default())
            .map_err(sops_core::Error::from)?,
    );
    drop(tree);
    let _ = ctrlc::set_handler(|| {});
    let dir = tempfile::Builder::new()
        .prefix(".sops")
        .tempdir()
        .map_err(|e| {
            CliError::new(
                codes::COULD_NOT_WRITE_OUTPUT,
                format!("cannot create a private temporary folder: {e}"),
            )
        })?;
    let name = args
        .filename
        .clone()
        .unwrap_or_else(|| "tmp-file".to_owned());
    if name.contains('/') || name.is_empty() || name == "." || name == ".." {
        return Err(CliError::new(
            codes::GENERIC,
            format!("invalid --filename {name:?}"),
        ));
    }
    let path = dir.path().join(&name);
    let writer = if args.no_fifo {
        io::write_private(&path, &plain)?;
        None
    } else {
        let made = Command::new("mkfifo")
            .args(["-m", "600"])
            .arg(&path)
            .status()
            .map_err(|e| {
                CliError::new(
                    codes::COULD_NOT_WRITE_OUTPUT,
                    format!("cannot run mkfifo: {e}"),
                )
            })?;
        if !made.success() {
            return Err(
                CliError::new(codes::COULD_NOT_WRITE_OUTPUT, "mkfifo failed").hint("use --no-fifo"),
            );
        }
        let fifo = path.clone();
        let data = plain.to_vec();
        // Opening a FIFO for writing blocks until the command opens it for reading. If the
        // command never reads it, this thread stays blocked until the process exits.
        Some(std::thread::spawn(move || {
            use std::io::Write;
            let mut data = zeroize::Zeroizing::new(data);
            let result = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .and_then(|mut f| f.write_all(&data));
            zeroize::Zeroize::zeroize(&mut *data);
            result
        }))
    };
    drop(plain);
    #[cfg(unix)]
    if let Some((uid, gid)) = user {
        for p in [dir.path(), path.as_path()] {
            std::os::unix::fs::chown(p, Some(uid), Some(gid)).map_err(|e| {
                CliError::new(
                    codes::GENERIC,
                    format!("cannot hand {} to the --user: {e}", p.display()),
                )
                .hint("running as another user needs root")
            })?;
        }
    }
    let shown = path.to_string_lossy().into_owned();
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command.replace("{}", &shown));
    switch_user(&mut cmd, user.as_ref());
    let status = cmd
        .status()
        .map_err(|e| spawn_error(&e, args.user.as_ref()));
    if let Some(w) = writer.filter(|w| w.is_finished()) {
        let _ = w.join();
    }
    drop(dir);
    Ok(exit_code(status?))
}

/// A user's uid and gid from `/etc/passwd`, as sops' `user.Lookup` (by name).
fn lookup_user(name: &str) -> Result<(u32, u32), CliError> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| CliError::new(codes::GENERIC, format!("cannot read /etc/passwd: {e}")))?;
    passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == name)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .ok_or_else(|| {
            CliError::new(codes::GENERIC, format!("user: unknown user {name}"))
                .hint("--user takes a user name from /etc/passwd")
        })
}

/// Applies `--user` to the command (Unix): the child runs with that uid and gid, without
/// the caller's supplementary groups.
fn switch_user(cmd: &mut Command, user: Option<&(u32, u32)>) {
    #[cfg(unix)]
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        cmd.uid(*uid).gid(*gid);
    }
    #[cfg(not(unix))]
    let _ = (cmd, user);
}

fn spawn_error(e: &std::io::Error, user: Option<&String>) -> CliError {
    let mut err = CliError::new(codes::GENERIC, format!("cannot run /bin/sh: {e}"));
    if let Some(u) = user {
        err = err.hint(format!("running as {u} needs root"));
    }
    err
}

fn decrypt_tree(
    file: &std::path::Path,
    format: sops_core::Format,
) -> Result<sops_core::Tree, CliError> {
    let input = io::read_input(Some(file))?;
    let encrypted = parse_encrypted(format, &input)?;
    let (ring, hint) = decryption_keyring(None)?;
    let mut decrypted = encrypted
        .decrypt(
            &ring,
            &DecryptOptions {
                ignore_mac: false,
                read_only: true,
            },
        )
        .map_err(|e| with_key_hint(e, &hint))?;
    Ok(std::mem::take(&mut decrypted.tree))
}

/// The child's exit code; killed by a signal: the shell convention 128 + signal.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(c) = status.code() {
        return u8::try_from(c).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        status.signal().map_or(1, |s| (128 + s).clamp(0, 255) as u8)
    }
    #[cfg(not(unix))]
    1
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
    let user = args.user.as_deref().map(lookup_user).transpose()?;
    let tree = decrypt_tree(&file, format)?;
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(command);
    switch_user(&mut cmd, user.as_ref());
    if args.pristine {
        cmd.env_clear();
    }
    if let Some(doc) = tree.branches.first() {
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
    drop(tree);
    #[cfg(unix)]
    if args.same_process {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        return Err(spawn_error(&err, args.user.as_ref()));
    }
    let status = cmd
        .status()
        .map_err(|e| spawn_error(&e, args.user.as_ref()))?;
    Ok(exit_code(status))
}

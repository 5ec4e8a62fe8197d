//! `rsops git ...`: the git integration (filter, textconv, merge driver, keyless check).

pub mod check;
pub mod engine;
pub mod filter;
pub mod init;
pub mod merge;
pub mod pktline;
pub mod repo;
pub mod textconv;

use std::path::PathBuf;

use clap::Subcommand;

use crate::error::CliError;

/// `rsops git` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wire this repository: git config (filter, textconv, merge driver) and .gitattributes.
    Init(init::Args),
    /// Check, without any private key, that every protected file is encrypted as .sops.yaml
    /// says (for pre-commit and CI). Exits 1 with a list when not.
    Check(check::Args),
    /// The long-running filter git starts (`filter.rsops.process`).
    #[command(name = "filter-process")]
    FilterProcess,
    /// Single-shot clean filter: plaintext on stdin, SOPS file on stdout.
    Clean {
        /// The path in the repository (git's `%f`).
        path: String,
    },
    /// Single-shot smudge filter: SOPS file on stdin, plaintext on stdout.
    Smudge {
        /// The path in the repository (git's `%f`).
        path: String,
    },
    /// Diff textconv: prints a file's plaintext (its ciphertext without a key).
    Textconv {
        /// The file git hands over.
        file: PathBuf,
    },
    /// Merge driver (`%O %A %B %P`): a per-key three-way merge; exit 1 on conflicts.
    Merge(merge::Args),
}

/// Runs a git subcommand; returns the exit code.
pub fn run(cmd: &Command) -> Result<u8, CliError> {
    let ok = |r: Result<(), CliError>| r.map(|()| 0);
    let status = |r: Result<bool, CliError>| r.map(|clean| if clean { 0 } else { 1 });
    match cmd {
        Command::Init(a) => ok(init::run(a)),
        Command::Check(a) => status(check::run(a)),
        Command::FilterProcess => ok(filter::process()),
        Command::Clean { path } => ok(filter::clean(path)),
        Command::Smudge { path } => ok(filter::smudge(path)),
        Command::Textconv { file } => ok(textconv::run(file)),
        Command::Merge(a) => status(merge::run(a)),
    }
}

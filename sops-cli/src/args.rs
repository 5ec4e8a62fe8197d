//! Raw command-line arguments (clap derive only; resolution happens in the commands).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};

/// rsops: encrypted files in Git, compatible with sops.
#[derive(Debug, Default, Parser)]
#[command(
    name = "rsops",
    version,
    about = "Encrypt and decrypt SOPS files (YAML, JSON, dotenv, INI, binary) with age keys; compatible with sops 3.11.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  rsops encrypt --age age1... secrets.yaml > secrets.enc.yaml\n  SOPS_AGE_KEY_FILE=key.txt rsops decrypt secrets.enc.yaml\n  rsops -d --extract '[\"db\"][\"password\"]' secrets.enc.yaml"
)]
pub struct Cli {
    /// The subcommand (sops' modern form).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Legacy form: encrypt the file.
    #[arg(short = 'e', long = "encrypt")]
    pub encrypt: bool,
    /// Legacy form: decrypt the file.
    #[arg(short = 'd', long = "decrypt")]
    pub decrypt: bool,
    /// Legacy form: rotate the data key (with --add-*/--rm-*).
    #[arg(short = 'r', long = "rotate")]
    pub rotate: bool,
    /// Legacy form: set one value, `--set '["key"] "value"'`.
    #[arg(long = "set")]
    pub set: Option<String>,
    /// Legacy form: the keys to add and remove when rotating (`--add-age`, `--rm-pgp`, ...).
    #[command(flatten)]
    pub keys: crate::cmd::rotate::KeyChanges,
    /// Legacy-form options.
    #[command(flatten)]
    pub op: OpArgs,
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: Global,
}

/// The subcommand names, for [`hoist_globals`] (a test checks them against clap's).
const SUBCOMMANDS: &[&str] = &[
    "encrypt",
    "decrypt",
    "edit",
    "exec-env",
    "exec-file",
    "set",
    "unset",
    "rotate",
    "updatekeys",
    "groups",
    "completion",
    "man",
    "git",
    "filestatus",
    "help",
];

/// Moves global options written before a subcommand (`rsops --config c.yaml decrypt f`) to
/// after its name, where clap takes them: before it, they would count as legacy-form flags,
/// which exclude subcommands.
fn hoist_globals(mut argv: Vec<OsString>) -> Vec<OsString> {
    let mut i = 1;
    while let Some(arg) = argv.get(i).and_then(|a| a.to_str()) {
        match arg {
            "--config" => i += 2,
            "--verbose" | "--disable-version-check" => i += 1,
            a if a.starts_with("--config=") => i += 1,
            _ => break,
        }
    }
    let is_subcommand = argv
        .get(i)
        .and_then(|a| a.to_str())
        .is_some_and(|a| SUBCOMMANDS.contains(&a));
    if i > 1 && is_subcommand {
        argv[1..=i].rotate_right(1);
    }
    argv
}

/// Options every subcommand takes.
#[derive(Args, Debug, Default, PartialEq)]
pub struct Global {
    /// Path to the .sops.yaml config file (disables the search from the working directory).
    #[arg(long, env = "SOPS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print more information (accepted for compatibility).
    #[arg(long, global = true)]
    pub verbose: bool,
    /// Do not check for newer versions (rsops never does; accepted for compatibility).
    #[arg(long, env = "SOPS_DISABLE_VERSION_CHECK", global = true)]
    pub disable_version_check: bool,
}

impl Cli {
    /// Parses the process's arguments.
    ///
    /// Global options may come before the subcommand, as with sops (`--config FILE decrypt`).
    ///
    /// Building the definitions of every subcommand and legacy flag is a large part of what a
    /// small call costs, so the common subcommands are parsed with only their own definitions.
    /// Anything unusual (help, version, the legacy form, an error) goes through the full
    /// parser, so help and error messages are clap's usual ones.
    pub fn parse_args() -> Result<Self, clap::Error> {
        let argv = hoist_globals(std::env::args_os().collect());
        if let Some(cli) = Self::parse_common(&argv) {
            return Ok(cli);
        }
        Self::try_parse_from(argv)
    }

    /// The reduced parse of [`Cli::parse_args`] (after [`hoist_globals`]); `None` sends the
    /// call to the full parser.
    fn parse_common(argv: &[OsString]) -> Option<Self> {
        type Build = fn(clap::Command) -> clap::Command;
        type Take = fn(&ArgMatches) -> Result<Command, clap::Error>;
        let arg = argv.get(1)?.to_str()?;
        // The `&'static` spelling, as clap wants for a command's name.
        let name = *SUBCOMMANDS.iter().find(|n| **n == arg)?;
        if argv[2..].iter().any(|a| {
            matches!(
                a.to_str(),
                None | Some("-h" | "--help" | "-V" | "--version" | "help")
            )
        }) {
            return None;
        }
        let (build, take): (Build, Take) = match name {
            "encrypt" => (OpArgs::augment_args, |m| {
                OpArgs::from_arg_matches(m).map(Command::Encrypt)
            }),
            "decrypt" => (OpArgs::augment_args, |m| {
                OpArgs::from_arg_matches(m).map(Command::Decrypt)
            }),
            "exec-env" => (crate::cmd::exec::Args::augment_args, |m| {
                crate::cmd::exec::Args::from_arg_matches(m).map(Command::ExecEnv)
            }),
            "exec-file" => (crate::cmd::exec::FileArgs::augment_args, |m| {
                crate::cmd::exec::FileArgs::from_arg_matches(m).map(Command::ExecFile)
            }),
            "set" => (crate::cmd::set::Args::augment_args, |m| {
                crate::cmd::set::Args::from_arg_matches(m).map(Command::Set)
            }),
            "unset" => (crate::cmd::set::Args::augment_args, |m| {
                crate::cmd::set::Args::from_arg_matches(m).map(Command::Unset)
            }),
            "filestatus" => (crate::cmd::filestatus::Args::augment_args, |m| {
                crate::cmd::filestatus::Args::from_arg_matches(m).map(Command::Filestatus)
            }),
            _ => return None,
        };
        let cmd = Global::augment_args(clap::Command::new("rsops"))
            .subcommand(build(clap::Command::new(name)));
        let matches = cmd.try_get_matches_from(argv).ok()?;
        let (_, sub) = matches.subcommand()?;
        Some(Self {
            command: Some(take(sub).ok()?),
            global: Global::from_arg_matches(&matches).ok()?,
            ..Self::default()
        })
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt a file (stdin when no file is given).
    Encrypt(OpArgs),
    /// Decrypt a file (stdin when no file is given).
    Decrypt(OpArgs),
    /// Edit an encrypted file in $SOPS_EDITOR/$EDITOR (a new file starts from an example).
    Edit(OpArgs),
    /// Run a command with the file's top-level values as environment variables.
    #[command(name = "exec-env")]
    ExecEnv(crate::cmd::exec::Args),
    /// Run a command with the decrypted file at the path `{}` stands for (a FIFO by default).
    #[command(name = "exec-file")]
    ExecFile(crate::cmd::exec::FileArgs),
    /// Set one value in an encrypted file, in place: `set FILE '["key"]' '"value"'`.
    Set(crate::cmd::set::Args),
    /// Remove one value from an encrypted file, in place: `unset FILE '["key"]'`.
    Unset(crate::cmd::set::Args),
    /// Generate a new data key and re-encrypt, optionally adding or removing keys.
    Rotate(crate::cmd::rotate::Args),
    /// Re-wrap the data key for the keys .sops.yaml asks for now (values unchanged).
    Updatekeys(crate::cmd::updatekeys::Args),
    /// Add or delete key groups (values, lastmodified and mac unchanged).
    #[command(subcommand)]
    Groups(crate::cmd::groups::Command),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
    /// Git integration: a stable filter, diff textconv, merge driver and keyless checks.
    #[command(subcommand)]
    Git(crate::cmd::git::Command),
    /// Print {"encrypted":true} if the file is a complete SOPS file.
    Filestatus(crate::cmd::filestatus::Args),
}

/// Options shared by encrypt and decrypt.
#[derive(Args, Debug, Default)]
pub struct OpArgs {
    /// The file to read (stdin when absent).
    pub file: Option<PathBuf>,
    /// Write the result back to the file (atomically).
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Write the result to this file instead of stdout (atomically).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Input format: yaml, json, dotenv, ini or binary (default: from the file extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
    /// Output format (default: from the file extension, not from --input-type).
    #[arg(long = "output-type")]
    pub output_type: Option<String>,
    /// Use this name instead of the file's for format detection and creation rules.
    #[arg(long = "filename-override")]
    pub filename_override: Option<String>,
    /// Indentation for YAML/JSON output.
    #[arg(long)]
    pub indent: Option<i64>,
    /// age recipients to encrypt for, comma separated.
    #[arg(short = 'a', long = "age", env = "SOPS_AGE_RECIPIENTS")]
    pub age: Option<String>,
    /// PGP fingerprints to encrypt for, comma separated.
    #[arg(short = 'p', long = "pgp", env = "SOPS_PGP_FP")]
    pub pgp: Option<String>,
    /// AWS KMS key ARNs to encrypt for, comma separated (`arn[+role_arn]`).
    #[arg(short = 'k', long = "kms", env = "SOPS_KMS_ARN")]
    pub kms: Option<String>,
    /// GCP KMS key resource ids to encrypt for, comma separated.
    #[arg(long = "gcp-kms", env = "SOPS_GCP_KMS_IDS")]
    pub gcp_kms: Option<String>,
    /// Azure Key Vault key URLs to encrypt for, comma separated
    /// (`https://<vault>/keys/<name>[/<version>]`).
    #[arg(long = "azure-kv", env = "SOPS_AZURE_KEYVAULT_URLS")]
    pub azure_kv: Option<String>,
    /// HashiCorp Vault transit key URIs to encrypt for, comma separated
    /// (`https://host:port/v1/<engine>/keys/<name>`).
    #[arg(long = "hc-vault-transit", env = "SOPS_VAULT_URIS")]
    pub hc_vault_transit: Option<String>,
    /// The AWS profile for the KMS keys given on the command line.
    #[arg(long = "aws-profile")]
    pub aws_profile: Option<String>,
    /// KMS encryption context for the KMS keys given on the command line, `k1:v1,k2:v2`.
    #[arg(long = "encryption-context")]
    pub encryption_context: Option<String>,
    /// Keys whose name ends with this suffix stay unencrypted.
    #[arg(long = "unencrypted-suffix")]
    pub unencrypted_suffix: Option<String>,
    /// Only keys whose name ends with this suffix are encrypted.
    #[arg(long = "encrypted-suffix")]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex stay unencrypted.
    #[arg(long = "unencrypted-regex")]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted.
    #[arg(long = "encrypted-regex")]
    pub encrypted_regex: Option<String>,
    /// Values after a comment matching this regex stay unencrypted.
    #[arg(long = "unencrypted-comment-regex")]
    pub unencrypted_comment_regex: Option<String>,
    /// Only values after a comment matching this regex are encrypted.
    #[arg(long = "encrypted-comment-regex")]
    pub encrypted_comment_regex: Option<String>,
    /// The MAC covers only encrypted values.
    #[arg(long = "mac-only-encrypted")]
    pub mac_only_encrypted: bool,
    /// Number of key groups needed to recover the data key.
    #[arg(long = "shamir-secret-sharing-threshold")]
    pub shamir_secret_sharing_threshold: Option<usize>,
    /// Decrypt even if the MAC does not match.
    #[arg(long = "ignore-mac")]
    pub ignore_mac: bool,
    /// edit: show the sops metadata (master keys) in the editor too; edits to it are kept.
    #[arg(short = 's', long = "show-master-keys")]
    pub show_master_keys: bool,
    /// Print only this part of the document, e.g. `'["db"]["password"]'`.
    #[arg(long)]
    pub extract: Option<String>,
    /// Order in which key types are tried, comma separated (default: age,pgp).
    #[arg(long = "decryption-order", env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(argv: &[&str]) -> String {
        let argv = hoist_globals(argv.iter().map(OsString::from).collect());
        let cli = Cli::try_parse_from(argv).unwrap();
        format!("{:?} {:?}", cli.command, cli.global)
    }

    fn reduced(argv: &[&str]) -> Option<String> {
        let argv = hoist_globals(argv.iter().map(OsString::from).collect());
        Cli::parse_common(&argv).map(|cli| format!("{:?} {:?}", cli.command, cli.global))
    }

    #[test]
    fn subcommand_names_are_clap_s() {
        use clap::CommandFactory;
        let mut names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        names.push("help".to_owned());
        assert_eq!(names, SUBCOMMANDS);
    }

    #[test]
    fn globals_before_the_subcommand_move_after_it() {
        let hoisted = |argv: &[&str]| -> Vec<String> {
            hoist_globals(argv.iter().map(OsString::from).collect())
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            hoisted(&["rsops", "--config", "c", "--verbose", "rotate", "-i", "f"]),
            ["rsops", "rotate", "--config", "c", "--verbose", "-i", "f"]
        );
        assert_eq!(
            hoisted(&["rsops", "--config=c", "-d", "f"]),
            ["rsops", "--config=c", "-d", "f"]
        );
        assert_eq!(
            hoisted(&["rsops", "--config", "decrypt"]),
            ["rsops", "--config", "decrypt"]
        );
        let full = Cli::try_parse_from(hoisted(&["rsops", "--config", "c", "rotate", "f"]));
        assert_eq!(full.unwrap().global.config, Some(PathBuf::from("c")));
    }

    #[test]
    fn the_reduced_parse_agrees_with_the_full_one() {
        let cases: &[&[&str]] = &[
            &["rsops", "decrypt", "f.yaml"],
            &[
                "rsops",
                "decrypt",
                "--extract",
                "[\"a\"]",
                "--ignore-mac",
                "f.yaml",
            ],
            &["rsops", "--config", "c.yaml", "decrypt", "-i", "f.yaml"],
            &[
                "rsops",
                "--config=c.yaml",
                "--verbose",
                "encrypt",
                "--age",
                "age1x",
                "f",
            ],
            &[
                "rsops",
                "encrypt",
                "f.json",
                "--config",
                "c.yaml",
                "--disable-version-check",
            ],
            &[
                "rsops",
                "encrypt",
                "--output",
                "o",
                "--input-type",
                "json",
                "--indent",
                "2",
            ],
            &["rsops", "exec-env", "f.yaml", "env", "--user", "nobody"],
            &[
                "rsops",
                "exec-file",
                "--no-fifo",
                "--filename",
                "x.yaml",
                "f",
                "cat {}",
            ],
            &["rsops", "set", "f.yaml", "[\"a\"]", "\"b\""],
            &["rsops", "set", "--value-stdin", "f.yaml", "[\"a\"]"],
            &["rsops", "unset", "--idempotent", "f.yaml", "[\"a\"]"],
            &["rsops", "filestatus", "f.yaml"],
            &["rsops", "decrypt"],
        ];
        for argv in cases {
            assert_eq!(
                reduced(argv).as_deref(),
                Some(full(argv).as_str()),
                "{argv:?}"
            );
        }
    }

    #[test]
    fn unusual_calls_go_to_the_full_parser() {
        for argv in [
            &["rsops", "-d", "f.yaml"][..],
            &["rsops", "decrypt", "--help"],
            &["rsops", "decrypt", "--no-such-flag", "f"],
            &["rsops", "--version"],
            &["rsops", "rotate", "-i", "f"],
            &["rsops", "git", "clean", "f"],
            &["rsops", "--config"],
            &["rsops"],
        ] {
            assert_eq!(reduced(argv), None, "{argv:?}");
        }
    }
}

//! Raw command-line arguments (clap derive only; resolution happens in the commands).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// rsops: encrypted files in Git, compatible with sops.
#[derive(Debug, Parser)]
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

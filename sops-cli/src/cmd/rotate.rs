//! `rsops rotate FILE`: a new data key, optionally adding or removing master keys. Values keep
//! their IVs, but every ciphertext changes with the key.

use std::path::PathBuf;

use sops_core::config::{azure_key, gcp_key, kms_key, pgp_key, vault_key};
use sops_core::keys::age;
use sops_core::{KeyGroup, MasterKey};

use crate::cmd::{formats, open_for_write, store_options};
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
    /// The keys to add and remove.
    #[command(flatten)]
    pub keys: KeyChanges,
    /// The AWS profile for the KMS keys given with --add-kms/--rm-kms.
    #[arg(long = "aws-profile")]
    pub aws_profile: Option<String>,
    /// KMS encryption context for --add-kms/--rm-kms keys, `k1:v1,k2:v2`.
    #[arg(long = "encryption-context")]
    pub encryption_context: Option<String>,
    /// Order in which key types are tried.
    #[arg(long = "decryption-order", env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
}

/// The `--add-*`/`--rm-*` flags, shared by `rotate` and the legacy `-r` form.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct KeyChanges {
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
    /// Add these GCP KMS resource ids to the first key group.
    #[arg(long = "add-gcp-kms")]
    pub add_gcp_kms: Option<String>,
    /// Remove these GCP KMS resource ids from every key group.
    #[arg(long = "rm-gcp-kms")]
    pub rm_gcp_kms: Option<String>,
    /// Add these Azure Key Vault key URLs to the first key group.
    #[arg(long = "add-azure-kv")]
    pub add_azure_kv: Option<String>,
    /// Remove these Azure Key Vault key URLs from every key group.
    #[arg(long = "rm-azure-kv")]
    pub rm_azure_kv: Option<String>,
    /// Add these Vault transit key URIs to the first key group.
    #[arg(long = "add-hc-vault-transit")]
    pub add_hc_vault_transit: Option<String>,
    /// Remove these Vault transit key URIs from every key group.
    #[arg(long = "rm-hc-vault-transit")]
    pub rm_hc_vault_transit: Option<String>,
    /// Add these AWS KMS ARNs to the first key group (`arn[+role_arn]`).
    #[arg(long = "add-kms")]
    pub add_kms: Option<String>,
    /// Remove these AWS KMS ARNs from every key group.
    #[arg(long = "rm-kms")]
    pub rm_kms: Option<String>,
}

impl KeyChanges {
    /// The `--add-*` lists, in the order age, pgp, kms, gcp_kms, azure_kv, hc_vault.
    fn adds(&self) -> [&Option<String>; 6] {
        [
            &self.add_age,
            &self.add_pgp,
            &self.add_kms,
            &self.add_gcp_kms,
            &self.add_azure_kv,
            &self.add_hc_vault_transit,
        ]
    }

    /// The `--rm-*` lists, in the same order.
    fn removes(&self) -> [&Option<String>; 6] {
        [
            &self.rm_age,
            &self.rm_pgp,
            &self.rm_kms,
            &self.rm_gcp_kms,
            &self.rm_azure_kv,
            &self.rm_hc_vault_transit,
        ]
    }

    /// Whether any key is added or removed.
    pub fn any(&self) -> bool {
        self.adds()
            .iter()
            .chain(&self.removes())
            .any(|o| o.is_some())
    }

    /// The keys to add (age recipients are validated), in the order age, pgp, kms, gcp_kms,
    /// azure_kv, hc_vault.
    fn added(
        &self,
        profile: Option<&str>,
        context: Option<&str>,
    ) -> Result<Vec<MasterKey>, CliError> {
        for r in split_list(self.add_age.as_deref()) {
            age::parse_recipient(&r).map_err(|e| CliError::new(codes::GENERIC, e))?;
        }
        keys_from(self.adds(), profile, context)
    }

    /// The identifiers of the keys to remove.
    fn removed(
        &self,
        profile: Option<&str>,
        context: Option<&str>,
    ) -> Result<Vec<String>, CliError> {
        Ok(keys_from(self.removes(), profile, context)?
            .iter()
            .map(MasterKey::identifier)
            .collect())
    }
}

/// Master keys from flag values: `[age, pgp, kms, gcp_kms, azure_kv, hc_vault]` lists.
fn keys_from(
    [age_list, pgp, kms, gcp, azure, vault]: [&Option<String>; 6],
    profile: Option<&str>,
    context: Option<&str>,
) -> Result<Vec<MasterKey>, CliError> {
    let mut keys: Vec<MasterKey> = split_list(age_list.as_deref())
        .iter()
        .map(|r| age::key_for(r))
        .collect();
    keys.extend(split_list(pgp.as_deref()).iter().map(|fp| pgp_key(fp)));
    keys.extend(kms_keys(kms.as_deref(), profile, context)?);
    keys.extend(cloud_keys(gcp.as_deref(), azure.as_deref())?);
    keys.extend(vault_keys(vault.as_deref())?);
    Ok(keys)
}

/// KMS keys from a comma-separated `arn[+role]` list with the flags' profile and context.
pub(crate) fn kms_keys(
    list: Option<&str>,
    profile: Option<&str>,
    context: Option<&str>,
) -> Result<Vec<MasterKey>, CliError> {
    let context = parse_context(context.unwrap_or(""))?;
    Ok(split_list(list)
        .iter()
        .map(|arn| kms_key(arn, profile.unwrap_or(""), context.clone()))
        .collect())
}

/// GCP KMS, Azure Key Vault and Vault transit keys from comma-separated flag values, in
/// sops' order for command-line keys (gcp_kms, azure_kv, then hc_vault after pgp).
pub(crate) fn cloud_keys(
    gcp: Option<&str>,
    azure: Option<&str>,
) -> Result<Vec<MasterKey>, CliError> {
    let mut out: Vec<MasterKey> = split_list(gcp).iter().map(|id| gcp_key(id)).collect();
    for url in split_list(azure) {
        out.push(azure_key(&url).map_err(|e| CliError::new(codes::GENERIC, e))?);
    }
    Ok(out)
}

/// Vault transit keys from a comma-separated list of URIs.
pub(crate) fn vault_keys(list: Option<&str>) -> Result<Vec<MasterKey>, CliError> {
    split_list(list)
        .iter()
        .map(|u| vault_key(u).map_err(|e| CliError::new(codes::GENERIC, e)))
        .collect()
}

/// Parses `--encryption-context k1:v1,k2:v2` (sops: exit 6 on a malformed pair).
pub(crate) fn parse_context(text: &str) -> Result<Vec<(String, String)>, CliError> {
    let mut out = Vec::new();
    for pair in text.split(',').filter(|p| !p.is_empty()) {
        match pair.split_once(':') {
            Some((k, v)) if !k.is_empty() && !v.contains(':') => {
                out.push((k.to_owned(), v.to_owned()));
            }
            _ => {
                return Err(CliError::new(
                    codes::INVALID_KMS_ENCRYPTION_CONTEXT_FORMAT,
                    format!("Invalid encryption context format: {pair:?}"),
                )
                .hint("use --encryption-context key1:value1,key2:value2"));
            }
        }
    }
    Ok(out)
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
    let changes_keys = args.keys.any();
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
    let profile = args.aws_profile.as_deref();
    let context = args.encryption_context.as_deref();
    let added = args.keys.added(profile, context)?;
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
    let removed = args.keys.removed(profile, context)?;
    for g in &mut groups {
        g.keys.retain(|k| !removed.contains(&k.identifier()));
    }
    let threshold = decrypted.metadata.shamir_threshold;
    let ring = crate::cmd::sealing_keyring();
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

//! `rsops encrypt` / `rsops -e`.

use sops_core::config::pgp_key;
use sops_core::file::{self, Encrypted};
use sops_core::keys::age;
use sops_core::rules::CryptRule;
use sops_core::wipe::Wiped;
use sops_core::{DecryptedFile, EncryptOptions, Format, KeyGroup};

use crate::args::OpArgs;
use crate::cmd::{Target, rule_path, store_options};
use crate::config;
use crate::error::{CliError, codes};

/// Runs encrypt.
pub fn run(args: &OpArgs, config_path: Option<&std::path::Path>) -> Result<(), CliError> {
    let target = Target::resolve(args)?;
    if target.file.is_none() && args.filename_override.is_none() && args.input_type.is_none() {
        return Err(CliError::new(
            codes::CONFLICTING_PARAMETERS,
            "reading from stdin needs --filename-override (or --input-type) to choose the format",
        ));
    }
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), args.indent)?;
    let options = encrypt_options(args, config.as_ref(), &target.name, target.input)?;
    let ring = crate::cmd::sealing_keyring();
    // A big plain mapping is encrypted piece by piece, written out as it goes (and read as
    // it goes from a regular file); anything else is declined before any key service is
    // called, and takes the whole-file path.
    let yaml = target.input == Format::Yaml && target.output == Format::Yaml;
    let big = if yaml { target.open_big() } else { None };
    let tried = big.is_some();
    if let Some(mut f) = big
        && in_pieces(args, &target, |sink| {
            file::encrypt_yaml_from(&mut f, &options, &ring, &opts, sink)
        })?
    {
        return Ok(());
    }
    // The plaintext input is wiped once done with.
    let input = Wiped::new(target.read()?);
    if yaml
        && !tried
        && input.len() >= file::PIECEWISE_MIN_BYTES
        && in_pieces(args, &target, |sink| {
            file::encrypt_yaml_in_pieces(&input, &options, &ring, &opts, sink)
        })?
    {
        return Ok(());
    }
    let tree = file::parse_plain(target.input, &input)?;
    // The tree holds everything from here on; keep peak memory down on big files.
    drop(input);
    if file::has_metadata(target.output, &tree) {
        return Err(sops_core::Error::AlreadyEncrypted {
            format: target.output,
        }
        .into());
    }
    let mut encrypted =
        DecryptedFile::create(target.input, tree, &options, &ring)?.into_encrypted()?;
    let out = encrypted.emit(target.output, &opts)?;
    target.write_dropping(args, &out, encrypted)
}

/// Runs a piecewise encryption into the output stream: `true` when it wrote the whole
/// file, `false` when it declined (nothing written: the whole-file path follows).
fn in_pieces(
    args: &OpArgs,
    target: &Target,
    run: impl FnOnce(&mut dyn FnMut(&[u8]) -> bool) -> Result<Encrypted, sops_core::Error>,
) -> Result<bool, CliError> {
    let mut out = target.output_stream(args)?;
    let mut failed = None;
    let done = run(&mut |bytes| out.write(bytes).map_err(|e| failed = Some(e)).is_ok());
    match done {
        Ok(Encrypted::Done) => out.finish().map(|()| true),
        Ok(Encrypted::Declined) => out.discard().map(|()| false),
        Ok(Encrypted::Stopped) => {
            let err = match &failed {
                Some(e) => out.error(e),
                None => out.error(&"the output was refused"),
            };
            out.discard()?;
            Err(err)
        }
        Err(e) => {
            out.discard()?;
            Err(e.into())
        }
    }
}

/// The encryption settings for a new file: keys from the flags (one group) or else from the
/// matching creation rule; partial-encryption rules per field, flags over the config.
pub fn encrypt_options(
    args: &OpArgs,
    config: Option<&config::Loaded>,
    name: &str,
    input_format: Format,
) -> Result<EncryptOptions, CliError> {
    let rule = match config {
        Some(c) => c.config.rule_for(&rule_path(c, name)).map_err(|e| {
            CliError::new(codes::GENERIC, e.to_string())
                .hint("add a creation rule whose path_regex matches this file to .sops.yaml")
        })?,
        None => None,
    };
    // Keys: command line (one group), else the creation rule's groups.
    // sops' order for command-line keys: kms, gcp_kms, azure_kv, pgp, hc_vault, age.
    let mut cli_group = KeyGroup::default();
    cli_group.keys.extend(crate::cmd::rotate::kms_keys(
        args.kms.as_deref(),
        args.aws_profile.as_deref(),
        args.encryption_context.as_deref(),
    )?);
    cli_group.keys.extend(crate::cmd::rotate::cloud_keys(
        args.gcp_kms.as_deref(),
        args.azure_kv.as_deref(),
    )?);
    for fp in crate::cmd::rotate::split_list(args.pgp.as_deref()) {
        cli_group.keys.push(pgp_key(&fp));
    }
    cli_group.keys.extend(crate::cmd::rotate::vault_keys(
        args.hc_vault_transit.as_deref(),
    )?);
    for r in crate::cmd::rotate::split_list(args.age.as_deref()) {
        age::parse_recipient(&r).map_err(|e| CliError::new(codes::GENERIC, e))?;
        cli_group.keys.push(age::key_for(&r));
    }
    let key_groups = if !cli_group.keys.is_empty() {
        vec![cli_group]
    } else if let Some(r) = rule.filter(|r| !r.key_groups.is_empty()) {
        r.key_groups.clone()
    } else {
        return Err(CliError::new(
            codes::GENERIC,
            "config file not found, or has no creation rules, and no keys provided through command line options",
        )
        .hint("pass --age age1... (or --pgp, --kms) or add a creation rule to .sops.yaml"));
    };

    // Partial-encryption rule: per field, the flag wins over the creation rule.
    let pick = |flag: &Option<String>, field: &str| -> String {
        flag.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| {
            rule.and_then(|r| r.rule.as_ref())
                .filter(|cr| cr.field() == field)
                .map(|cr| cr.value().to_owned())
                .unwrap_or_default()
        })
    };
    let fields = [
        (
            "unencrypted_suffix",
            pick(&args.unencrypted_suffix, "unencrypted_suffix"),
        ),
        (
            "encrypted_suffix",
            pick(&args.encrypted_suffix, "encrypted_suffix"),
        ),
        (
            "unencrypted_regex",
            pick(&args.unencrypted_regex, "unencrypted_regex"),
        ),
        (
            "encrypted_regex",
            pick(&args.encrypted_regex, "encrypted_regex"),
        ),
        (
            "unencrypted_comment_regex",
            pick(&args.unencrypted_comment_regex, "unencrypted_comment_regex"),
        ),
        (
            "encrypted_comment_regex",
            pick(&args.encrypted_comment_regex, "encrypted_comment_regex"),
        ),
    ];
    let crypt_rule = CryptRule::from_fields(fields.iter().map(|(f, v)| (*f, v.as_str())))
        .map_err(|e| CliError::from(sops_core::Error::from(e)))?;
    if input_format == Format::Binary && crypt_rule.is_some() {
        eprintln!("warning: partial-encryption options are ignored for binary files");
    }
    Ok(EncryptOptions {
        key_groups,
        shamir_threshold: args
            .shamir_secret_sharing_threshold
            .filter(|t| *t != 0)
            .or(rule.map(|r| r.shamir_threshold))
            .unwrap_or(0),
        rule: crypt_rule,
        mac_only_encrypted: args.mac_only_encrypted || rule.is_some_and(|r| r.mac_only_encrypted),
    })
}

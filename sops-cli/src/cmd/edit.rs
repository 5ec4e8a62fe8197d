//! `rsops edit FILE`: decrypt into a private temporary file, run the editor, re-encrypt what
//! changed. Unchanged values keep their ciphertext; the plaintext file is removed on every way
//! out (errors, an invalid buffer given up on, Ctrl-C or SIGTERM while the editor runs).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use sops_core::keys::env::shell_words;
use sops_core::{
    DecryptedFile, EncryptedFile, Format, Metadata, Tree, file, metadata::SOPS_VERSION, store,
};

use crate::args::OpArgs;
use crate::cmd::encrypt::encrypt_options;
use crate::cmd::{formats, open_for_write, store_options};
use crate::config;
use crate::error::{CliError, codes};
use crate::io;

/// sops' exit code when the editor made no change.
const FILE_NOT_MODIFIED: u8 = 200;
/// sops' exit code when no editor can be run.
const NO_EDITOR: u8 = 201;

/// The document a new file starts from (what sops 3.11 shows, checked with `EDITOR=cat`).
fn example(format: Format) -> &'static str {
    match format {
        Format::Yaml => {
            "hello: Welcome to SOPS! Edit this file as you please!\nexample_key: example_value\n\
             # Example comment\nexample_array:\n    - example_value1\n    - example_value2\n\
             example_number: 1234.56789\nexample_booleans:\n    - true\n    - false\n"
        }
        Format::Json => {
            "{\n\t\"hello\": \"Welcome to SOPS! Edit this file as you please!\",\n\t\
             \"example_key\": \"example_value\",\n\t\"example_array\": [\n\t\t\"example_value1\",\n\
             \t\t\"example_value2\"\n\t],\n\t\"example_number\": 1234.56789,\n\t\
             \"example_booleans\": [\n\t\ttrue,\n\t\tfalse\n\t]\n}\n"
        }
        Format::Dotenv => {
            "# This is an example file.\nhello=Welcome to SOPS! Edit this file as you please!\n\
             example_key=example_value\nexample_multiline=foo\\nbar\\nbaz\n"
        }
        Format::Ini => {
            "; This is an example file.\n[Welcome!]\n\
             hello       = Welcome to SOPS! Edit this file as you please!\n\
             example_key = example_value\n"
        }
        _ => "Welcome to SOPS! Edit this file as you please!",
    }
}

/// The editor command: `SOPS_EDITOR`, else `EDITOR` (split like a shell would), else the first
/// of vim, nano, vi found on `PATH`.
fn editor() -> Result<Vec<String>, CliError> {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Some(cmd) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            return shell_words(&cmd)
                .filter(|w| !w.is_empty())
                .ok_or_else(|| CliError::new(NO_EDITOR, format!("cannot parse {var}")));
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["vim", "nano", "vi"] {
        if std::env::split_paths(&path).any(|d| d.join(name).is_file()) {
            return Ok(vec![name.to_owned()]);
        }
    }
    Err(CliError::new(NO_EDITOR, "no editor found").hint("set SOPS_EDITOR or EDITOR"))
}

/// Runs edit.
pub fn run(args: &OpArgs, config_path: Option<&Path>) -> Result<(), CliError> {
    let file = args
        .file
        .clone()
        .ok_or_else(|| CliError::new(codes::NO_FILE_SPECIFIED, "error: no file specified"))?;
    let name = file.to_string_lossy().into_owned();
    let (input_format, output_format) = formats(
        &name,
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    );
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), args.indent)?;
    let exists = file.exists();
    let mut decrypted = if exists {
        open_for_write(
            &file,
            input_format,
            args.ignore_mac,
            args.decryption_order.as_deref(),
        )?
    } else {
        let options = encrypt_options(args, config.as_ref(), &name, input_format)?;
        let tree = file::parse_plain(input_format, example(input_format).as_bytes())?;
        let ring = crate::cmd::sealing_keyring();
        DecryptedFile::create(input_format, tree, &options, &ring)?
    };
    let plain = if args.show_master_keys {
        // sops' `EmitEncryptedFile` of the decrypted tree: plaintext values, metadata block.
        let mut shown = EncryptedFile {
            tree: std::mem::take(&mut decrypted.tree),
            metadata: decrypted.metadata.clone(),
        };
        let out = shown.emit(output_format, &opts);
        decrypted.tree = shown.tree;
        out?
    } else {
        store::emit(output_format, &decrypted.tree, &opts).map_err(sops_core::Error::from)?
    };

    // Keep running on Ctrl-C/SIGTERM so the temporary plaintext is always removed; the editor
    // receives the signal itself.
    let _ = ctrlc::set_handler(|| {});
    let dir = tempfile::Builder::new()
        .prefix(".rsops-edit-")
        .tempdir()
        .map_err(|e| {
            CliError::new(
                codes::COULD_NOT_WRITE_OUTPUT,
                format!("cannot create a private temporary folder: {e}"),
            )
        })?;
    let base = file
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tmp-file"));
    let tmp = dir.path().join(base);
    io::write_private(&tmp, &plain)?;
    let original = Sha256::digest(&plain);
    drop(plain);

    let new_tree = loop {
        run_editor(&tmp)?;
        let edited = zeroize::Zeroizing::new(std::fs::read(&tmp).map_err(|e| {
            CliError::new(
                codes::COULD_NOT_READ_INPUT,
                format!("cannot read the edited file: {e}"),
            )
        })?);
        if Sha256::digest(&edited[..]) == original {
            return Err(CliError::new(
                FILE_NOT_MODIFIED,
                "File has not changed, exiting.",
            ));
        }
        let parsed = if args.show_master_keys {
            parse_with_metadata(input_format, &edited)
        } else {
            parse_edited(input_format, &edited).map(|t| (t, None))
        };
        match parsed {
            Ok(tree) => break tree,
            Err(e) => {
                eprintln!("{e}");
                eprintln!("Press a key to return to the editor, or Ctrl-C to exit.");
                let mut byte = [0u8; 1];
                if !matches!(std::io::stdin().read(&mut byte), Ok(1)) {
                    return Err(CliError::new(
                        codes::COULD_NOT_READ_INPUT,
                        "the edited file is not valid and there is no terminal to return to the editor; nothing was written",
                    ));
                }
            }
        }
    };
    let (new_tree, new_metadata) = new_tree;
    // The tree as it was shown is plaintext too.
    zeroize::Zeroize::zeroize(&mut decrypted.tree);
    decrypted.tree = new_tree;
    if let Some(m) = new_metadata {
        decrypted.metadata = m;
    }
    // Only `edit` raises the stored version to the program's (sops does the same).
    if version_less(&decrypted.metadata.version, SOPS_VERSION) {
        decrypted.metadata.version = SOPS_VERSION.to_owned();
    }
    let out = decrypted.into_encrypted()?.emit(output_format, &opts)?;
    io::write_atomic(&file, &out)
}

/// The edited buffer of `--show-master-keys`: the documents and the (edited) metadata.
fn parse_with_metadata(format: Format, bytes: &[u8]) -> Result<(Tree, Option<Metadata>), String> {
    // Syntax first, for the same message as without the flag.
    file::parse_plain(format, bytes).map_err(|e| format!("Could not load the edited file: {e}"))?;
    let parsed = EncryptedFile::parse(format, bytes)
        .map_err(|e| format!("SOPS metadata is invalid: {e}"))?;
    Ok((parsed.tree, Some(parsed.metadata)))
}

fn parse_edited(format: Format, bytes: &[u8]) -> Result<Tree, String> {
    let tree = file::parse_plain(format, bytes)
        .map_err(|e| format!("Could not load the edited file: {e}"))?;
    if file::has_metadata(format, &tree) {
        return Err("the edited file must not contain a sops metadata block".to_owned());
    }
    Ok(tree)
}

fn run_editor(path: &Path) -> Result<(), CliError> {
    let argv = editor()?;
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .arg(path)
        .status()
        .map_err(|e| {
            CliError::new(
                NO_EDITOR,
                format!("could not run the editor {}: {e}", argv[0]),
            )
        })?;
    if !status.success() {
        return Err(CliError::new(
            codes::GENERIC,
            format!("the editor exited with {status}; the file was not changed"),
        ));
    }
    Ok(())
}

/// `a < b` for `MAJOR.MINOR.PATCH` strings (a leading `v` allowed); unparsable is not less.
fn version_less(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Option<Vec<u64>> {
        v.trim_start_matches('v')
            .split(['-', '+'])
            .next()?
            .split('.')
            .map(|p| p.parse().ok())
            .collect()
    };
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x < y)
}

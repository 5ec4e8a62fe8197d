//! `rsops set FILE PATH VALUE` and `rsops unset FILE PATH`: change one value in place. Every
//! other value keeps its ciphertext.

use std::io::Read;
use std::path::PathBuf;

use sops_core::{Format, Value, path, store};

use crate::cmd::{existing_file, formats, open_for_write, store_options};
use crate::config;
use crate::error::{CliError, codes};
use crate::io;

/// Options of `set` and `unset`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The encrypted file (changed in place).
    pub file: Option<PathBuf>,
    /// The key path, e.g. `'["db"]["password"]'`.
    pub path: Option<String>,
    /// The new value, as JSON (`set` only; `"text"`, `42`, `{"k": [1]}`).
    pub value: Option<String>,
    /// Read the value from standard input.
    #[arg(long = "value-stdin")]
    pub value_stdin: bool,
    /// Read the value from this file.
    #[arg(long = "value-file")]
    pub value_file: Option<PathBuf>,
    /// Do not write the file when nothing changes (`unset`: a missing key is not an error).
    #[arg(long)]
    pub idempotent: bool,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
    /// Output format (default: from the extension).
    #[arg(long = "output-type")]
    pub output_type: Option<String>,
    /// Skip the MAC check.
    #[arg(long = "ignore-mac")]
    pub ignore_mac: bool,
    /// Order in which key types are tried.
    #[arg(long = "decryption-order", env = "SOPS_DECRYPTION_ORDER")]
    pub decryption_order: Option<String>,
    /// Accepted for compatibility with sops (the file's threshold is kept).
    #[arg(long = "shamir-secret-sharing-threshold")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

/// Parses a `set` value: JSON, with objects and arrays loaded through the JSON store (so
/// numbers become floats, as in sops).
fn parse_value(text: &[u8]) -> Result<Value, CliError> {
    let bad = || {
        CliError::new(
            codes::INVALID_SET_FORMAT,
            "Value for --set is not valid JSON",
        )
    };
    let mut wrapped = b"{\"v\": ".to_vec();
    wrapped.extend_from_slice(text);
    wrapped.push(b'}');
    let mut tree = store::parse(Format::Json, &wrapped).map_err(|_| bad())?;
    tree.branches
        .first_mut()
        .and_then(|b| b.remove("v"))
        .ok_or_else(bad)
}

/// Runs `set` (`unset` when `remove`).
pub fn run(
    args: &Args,
    remove: bool,
    config_path: Option<&std::path::Path>,
) -> Result<(), CliError> {
    let file = existing_file(args.file.as_deref())?;
    let path_text = args.path.as_deref().ok_or_else(|| {
        CliError::new(
            codes::NO_FILE_SPECIFIED,
            "error: missing the key path argument",
        )
    })?;
    let steps = path::parse(path_text).map_err(|_| {
        CliError::new(codes::INVALID_SET_FORMAT, "Invalid set index format")
            .hint(r#"use the form '["key"][0]["other"]'"#)
    })?;
    let value = if remove {
        None
    } else {
        let raw = if args.value_stdin {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                CliError::new(
                    codes::COULD_NOT_READ_INPUT,
                    format!("cannot read stdin: {e}"),
                )
            })?;
            buf
        } else if let Some(f) = &args.value_file {
            io::read_input(Some(f))?
        } else {
            args.value
                .clone()
                .ok_or_else(|| {
                    CliError::new(
                        codes::NO_FILE_SPECIFIED,
                        "error: missing the value argument",
                    )
                })?
                .into_bytes()
        };
        Some(parse_value(&raw)?)
    };
    let name = file.to_string_lossy().into_owned();
    let (input_format, output_format) = formats(
        &name,
        args.input_type.as_deref(),
        args.output_type.as_deref(),
    );
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), None)?;
    let mut decrypted = open_for_write(
        &file,
        input_format,
        args.ignore_mac,
        args.decryption_order.as_deref(),
    )?;
    let doc = decrypted
        .tree
        .branches
        .first_mut()
        .ok_or_else(|| CliError::new(codes::GENERIC, "the file has no document"))?;
    let changed = match value {
        Some(v) => {
            let unchanged = path::get(doc, &steps).ok().flatten() == Some(&v);
            path::set(doc, &steps, v).map_err(|e| CliError::new(codes::GENERIC, e.to_string()))?;
            !unchanged
        }
        None => match path::unset(doc, &steps) {
            Ok(_) => true,
            Err(_) if args.idempotent => false,
            Err(e) => return Err(CliError::new(codes::GENERIC, e.to_string())),
        },
    };
    if args.idempotent && !changed {
        return Ok(());
    }
    let out = decrypted.into_encrypted()?.emit(output_format, &opts)?;
    io::write_atomic(&file, &out)
}

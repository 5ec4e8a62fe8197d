//! `rsops decrypt` / `rsops -d`.

use sops_core::wipe::{Appended, Wiped};
use sops_core::{DecryptOptions, Error, Format, StoreOptions, Tree, Value, file, path, store};

use crate::args::OpArgs;
use crate::cmd::{Target, decryption_keyring, parse_encrypted, store_options, with_key_hint};
use crate::config;
use crate::error::{CliError, codes};

/// Runs decrypt.
pub fn run(args: &OpArgs, config_path: Option<&std::path::Path>) -> Result<(), CliError> {
    let target = Target::resolve(args)?;
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), args.indent)?;
    let options = DecryptOptions {
        ignore_mac: args.ignore_mac,
        read_only: true,
    };
    let order = args.decryption_order.as_deref();
    // A big plain YAML file is decrypted piece by piece: read as it goes from a regular
    // file, else from the input read whole. The keyring is made first here, but an error
    // making it is reported after the whole-file parse, as below.
    let mut early = None;
    let mut key = None;
    let mut input = None;
    if target.input == Format::Yaml && target.output == Format::Yaml && args.extract.is_none() {
        let big = target.open_big();
        if big.is_none() {
            input = Some(target.read()?);
        }
        let whole = input.as_deref();
        if big.is_some() || whole.is_some_and(|i| i.len() >= file::PIECEWISE_MIN_BYTES) {
            let made = decryption_keyring(order);
            if let Ok((ring, hint)) = &made {
                let done = match (big, whole) {
                    (Some(f), _) => file::decrypt_yaml_from(f, ring, &options, &opts),
                    (None, Some(i)) => file::decrypt_yaml_in_pieces(i, ring, &options, &opts),
                    (None, None) => unreachable!("the input was read when no file was opened"),
                };
                match done.map_err(|e| with_key_hint(e, hint))? {
                    file::Decrypted::Done(out) => {
                        // Only ever appended to: wiping its bytes in use wipes all it held.
                        let out = Wiped::new(Appended(out));
                        drop(input);
                        return target.write(args, &out.0);
                    }
                    file::Decrypted::Declined(k) => key = k,
                    file::Decrypted::NoKey(e) => {
                        // The whole-file order: a parse error first, then this.
                        let input = match input {
                            Some(i) => i,
                            None => target.read()?,
                        };
                        parse_encrypted(target.input, &input)?;
                        return Err(with_key_hint(e, hint));
                    }
                }
            }
            early = Some(made);
        }
    }
    let input = match input {
        Some(i) => i,
        None => target.read()?,
    };
    let file = parse_encrypted(target.input, &input)?;
    drop(input);
    let decrypted = match key {
        Some(key) => file.decrypt_with_key(key, &options)?,
        None => {
            let (ring, hint) = match early {
                Some(made) => made?,
                None => decryption_keyring(order)?,
            };
            file.decrypt(&ring, &options)
                .map_err(|e| with_key_hint(e, &hint))?
        }
    };
    // The plaintext output is wiped once written.
    let out = Wiped::new(match &args.extract {
        Some(p) => extract(&decrypted.tree, p, target.output, &opts)?,
        None => store::emit(target.output, &decrypted.tree, &opts).map_err(|e| {
            let mut err = CliError::from(Error::from(e));
            if target.output == Format::Binary {
                err =
                    err.hint("pass --output-type yaml|json|dotenv|ini to choose the output format");
            }
            err
        })?,
    });
    target.write_dropping(args, &out, decrypted)
}

/// `--extract '["a"][0]["b"]'` on the first document: a string is printed raw, a mapping as a
/// document, anything else with the output store's value form.
fn extract(
    tree: &Tree,
    text: &str,
    format: Format,
    opts: &StoreOptions,
) -> Result<Vec<u8>, CliError> {
    let steps =
        path::parse(text).map_err(|e| CliError::new(codes::INVALID_TREE_PATH, e.to_string()))?;
    let first = tree
        .branches
        .first()
        .ok_or_else(|| CliError::new(codes::GENERIC, "the file has no document"))?;
    let found =
        path::get(first, &steps).map_err(|e| CliError::new(codes::GENERIC, e.to_string()))?;
    match found {
        None => Ok(store::emit(format, tree, opts).map_err(Error::from)?),
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Bytes(b)) => Ok(b.clone()),
        Some(v) => Ok(store::emit_value(format, v, opts).map_err(Error::from)?),
    }
}

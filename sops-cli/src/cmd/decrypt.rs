//! `rsops decrypt` / `rsops -d`.

use sops_core::keys::DataKeyError;
use sops_core::{DecryptOptions, EncryptedFile, Error, Value, store};

use crate::args::OpArgs;
use crate::cmd::{Target, keyring, store_options};
use crate::config;
use crate::error::{CliError, codes};

/// Runs decrypt.
pub fn run(args: &OpArgs, config_path: Option<&std::path::Path>) -> Result<(), CliError> {
    let target = Target::resolve(args)?;
    let config = config::load(config_path)?;
    let opts = store_options(config.as_ref(), args.indent)?;
    let input = target.read()?;
    // sops reports unreadable encrypted input as a generic error (exit 1), unlike plaintext
    // input to encrypt, which is "could not read input" (exit 2).
    let file = EncryptedFile::parse(target.input, &input).map_err(|e| {
        let mut err = CliError::from(e);
        if err.code == codes::COULD_NOT_READ_INPUT {
            err.code = codes::GENERIC;
        }
        err
    })?;
    drop(input);
    let (mut ring, found) = keyring(args.decryption_order.as_deref())?;
    let identities = found.identities;
    ring.add_source(identities);
    let decrypted = file
        .decrypt(
            &ring,
            &DecryptOptions {
                ignore_mac: args.ignore_mac,
                read_only: true,
            },
        )
        .map_err(|e| match e {
            Error::DataKey(DataKeyError::Unrecoverable { .. }) => {
                let mut hint = format!(
                    "rsops looked for age identities in: {}",
                    if found.checked.is_empty() {
                        "(nowhere: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY)".to_owned()
                    } else {
                        found.checked.join(", ")
                    }
                );
                for err in &found.errors {
                    hint.push_str(&format!("\n  {err}"));
                }
                CliError::from(e).hint(hint)
            }
            other => other.into(),
        })?;
    let out = match &args.extract {
        Some(path) => extract(&decrypted.tree, path, target.output, &opts)?,
        None => store::emit(target.output, &decrypted.tree, &opts).map_err(|e| {
            let mut err = CliError::from(Error::from(e));
            if target.output == sops_core::Format::Binary {
                err =
                    err.hint("pass --output-type yaml|json|dotenv|ini to choose the output format");
            }
            err
        })?,
    };
    drop(decrypted);
    target.write(args, &out)
}

/// `--extract '["a"][0]["b"]'` on the first document.
fn extract(
    tree: &sops_core::Tree,
    path: &str,
    format: sops_core::Format,
    opts: &sops_core::StoreOptions,
) -> Result<Vec<u8>, CliError> {
    let steps = parse_path(path).ok_or_else(|| {
        CliError::new(
            codes::INVALID_TREE_PATH,
            format!("invalid --extract path {path:?}"),
        )
        .hint(r#"use the form '["key"][0]["other"]'"#)
    })?;
    let first = tree
        .branches
        .first()
        .ok_or_else(|| CliError::new(codes::GENERIC, "empty file"))?;
    let mut cur: Option<&Value> = None;
    let mut map = Some(first);
    for step in &steps {
        let next = match (step, cur) {
            (Step::Key(k), None) => map.and_then(|m| m.get(k)),
            (Step::Key(k), Some(Value::Map(m))) => m.get(k),
            (Step::Index(i), Some(Value::List(l))) => {
                l.iter().filter(|v| !matches!(v, Value::Comment(_))).nth(*i)
            }
            _ => None,
        };
        match next {
            Some(v) => {
                cur = Some(v);
                map = None;
            }
            None => {
                return Err(CliError::new(
                    codes::GENERIC,
                    format!("component {} not found", step_str(step)),
                ));
            }
        }
    }
    match cur {
        None => Ok(store::emit(format, tree, opts).map_err(Error::from)?),
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Bytes(b)) => Ok(b.clone()),
        Some(v) => Ok(store::emit_value(format, v, opts).map_err(Error::from)?),
    }
}

enum Step {
    Key(String),
    Index(usize),
}

fn step_str(s: &Step) -> String {
    match s {
        Step::Key(k) => format!("[{k:?}]"),
        Step::Index(i) => format!("[{i}]"),
    }
}

/// sops' `parseTreePath`: split at `[`, each part ends with `]`; quoted parts are keys,
/// others indices.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('[').skip(1) {
        let inner = part.strip_suffix(']')?;
        if (inner.starts_with('"') && inner.ends_with('"')
            || inner.starts_with('\'') && inner.ends_with('\''))
            && inner.len() >= 2
        {
            steps.push(Step::Key(inner[1..inner.len() - 1].to_owned()));
        } else {
            steps.push(Step::Index(inner.parse().ok()?));
        }
    }
    if !path.starts_with('[') && !path.is_empty() {
        return None;
    }
    Some(steps)
}

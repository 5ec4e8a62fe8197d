//! Subcommands, one file each, plus what they share: formats, store options, keys, output.

pub mod decrypt;
pub mod edit;
pub mod encrypt;
pub mod exec;
pub mod filestatus;
pub mod git;
pub mod groups;
pub mod rotate;
pub mod set;
pub mod updatekeys;

use std::path::{Path, PathBuf};

use sops_core::keys::DataKeyError;
use sops_core::keys::env::{Discovered, SystemEnvironment, discover_age};
use sops_core::{
    DecryptOptions, DecryptedFile, EncryptedFile, Error, Format, KeyKind, Keyring, StoreOptions,
};

use crate::args::OpArgs;
use crate::config::Loaded;
use crate::error::{CliError, codes};
use crate::io;

/// The resolved input/output of one invocation.
pub struct Target {
    /// The file to read (`None`: stdin).
    pub file: Option<PathBuf>,
    /// The name used for format detection and creation rules.
    pub name: String,
    /// Input format.
    pub input: Format,
    /// Output format.
    pub output: Format,
}

impl Target {
    /// Resolves file, name and formats as sops does: `--input-type`/`--output-type` when known,
    /// else the extension of `--filename-override` or the file; the output format never
    /// follows `--input-type`.
    pub fn resolve(args: &OpArgs) -> Result<Self, CliError> {
        if args.in_place && args.output.is_some() {
            return Err(CliError::new(
                codes::CONFLICTING_PARAMETERS,
                "cannot use --in-place and --output together",
            ));
        }
        if args.in_place && args.file.is_none() {
            return Err(CliError::new(
                codes::CONFLICTING_PARAMETERS,
                "cannot use --in-place when reading from stdin",
            ));
        }
        if let Some(f) = args.file.as_ref().filter(|f| !f.exists()) {
            return Err(CliError::new(
                codes::NO_FILE_SPECIFIED,
                format!("error: cannot operate on non-existent file {}", f.display()),
            ));
        }
        let name = args
            .filename_override
            .clone()
            .or_else(|| args.file.as_ref().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let by_name = Format::from_path(&name);
        let input = args
            .input_type
            .as_deref()
            .and_then(Format::from_name)
            .unwrap_or(by_name);
        let output = args
            .output_type
            .as_deref()
            .and_then(Format::from_name)
            .unwrap_or(by_name);
        Ok(Self {
            file: args.file.clone(),
            name,
            input,
            output,
        })
    }

    /// Reads the input bytes.
    pub fn read(&self) -> Result<Vec<u8>, CliError> {
        io::read_input(self.file.as_deref())
    }

    /// The input file opened for the piecewise paths, which read it as they go: only a
    /// regular file of [`sops_core::file::PIECEWISE_MIN_BYTES`] or more. `None` otherwise, or on any
    /// error (the whole-input read then reports it).
    pub fn open_big(&self) -> Option<std::fs::File> {
        let f = std::fs::File::open(self.file.as_deref()?).ok()?;
        let meta = f.metadata().ok()?;
        let big = meta.is_file() && meta.len() >= sops_core::file::PIECEWISE_MIN_BYTES as u64;
        big.then_some(f)
    }

    /// Writes the result: in place, to `--output`, or to stdout.
    pub fn write(&self, args: &OpArgs, data: &[u8]) -> Result<(), CliError> {
        if let (true, Some(f)) = (args.in_place, &self.file) {
            return io::write_atomic(f, data);
        }
        if let Some(out) = &args.output {
            return io::write_atomic(out, data);
        }
        io::write_stdout(data)
    }

    /// The output as a stream, for results written as they are produced: in place or
    /// `--output` through a temp file renamed at the end, else stdout.
    pub fn output_stream(&self, args: &OpArgs) -> Result<io::Output, CliError> {
        if let (true, Some(f)) = (args.in_place, &self.file) {
            return io::Output::replacing(f);
        }
        if let Some(out) = &args.output {
            return io::Output::replacing(out);
        }
        Ok(io::Output::stdout())
    }

    /// Writes the result like [`Target::write`] while `done` (a tree no longer needed) is
    /// dropped on another thread: freeing, and for plaintext wiping, a big tree takes about
    /// as long as writing it out. The drop has finished when this returns.
    pub fn write_dropping<T: Send>(
        &self,
        args: &OpArgs,
        data: &[u8],
        done: T,
    ) -> Result<(), CliError> {
        // Below this output size a thread costs more than it saves.
        const BIG: usize = 1 << 20;
        if data.len() < BIG {
            drop(done);
            return self.write(args, data);
        }
        std::thread::scope(|scope| {
            // If no thread starts, the closure and `done` with it are dropped here.
            let _dropper = std::thread::Builder::new()
                .name("rsops-drop".to_owned())
                .spawn_scoped(scope, move || drop(done));
            self.write(args, data)
        })
    }
}

/// Store settings: `.sops.yaml` `stores`, then `--indent`.
pub fn store_options(
    config: Option<&Loaded>,
    indent: Option<i64>,
) -> Result<StoreOptions, CliError> {
    let mut opts = config.map(|c| c.config.stores).unwrap_or_default();
    if let Some(i) = indent {
        if i < -1 {
            return Err(CliError::new(
                codes::GENERIC,
                format!("invalid --indent {i}"),
            ));
        }
        if i >= 0 {
            opts.yaml_indent = if i == 0 { 4 } else { i as usize };
        }
        opts.json_indent = i as i32;
        opts.json_binary_indent = i as i32;
    }
    Ok(opts)
}

/// The keyring for decryption: age identities from the environment, decryption order.
pub fn keyring(order: Option<&str>) -> Result<(Keyring, Discovered), CliError> {
    let found = discover_age(&SystemEnvironment);
    let mut ring = Keyring::new();
    if let Some(order) = order.filter(|o| !o.is_empty()) {
        let mut kinds = Vec::new();
        for name in order.split(',').map(str::trim) {
            if let Some(kind) = KeyKind::from_name(name) {
                if kinds.contains(&kind) {
                    return Err(CliError::new(
                        112,
                        format!("duplicate key type {name} in the decryption order"),
                    ));
                }
                kinds.push(kind);
            }
        }
        ring = ring.with_decryption_order(kinds);
    }
    ring.add_source(pgp_native());
    ring.add_source(gpg());
    ring.add_source(aws());
    ring.add_source(vault());
    ring.add_source(gcp());
    ring.add_source(azure());
    Ok((ring, found))
}

/// The GCP KMS key source (OAuth tokens from the environment, ADC or the metadata server).
pub fn gcp() -> sops_core::keys::gcp::GcpKms {
    sops_core::keys::gcp::GcpKms::new(SystemEnvironment)
}

/// The Azure Key Vault key source (Azure AD tokens from the environment, managed identity or
/// the Azure CLI).
pub fn azure() -> sops_core::keys::azure::AzureKeyVault {
    sops_core::keys::azure::AzureKeyVault::new(SystemEnvironment)
}

/// The Vault transit key source (token from `VAULT_TOKEN` or `~/.vault-token`).
pub fn vault() -> sops_core::keys::vault::VaultTransit {
    sops_core::keys::vault::VaultTransit::new(SystemEnvironment)
}

/// The AWS KMS key source, with the process environment (credential chain, endpoints).
pub fn aws() -> sops_core::keys::aws::AwsKms {
    sops_core::keys::aws::AwsKms::new(SystemEnvironment)
}

/// The keyring for wrapping data keys (encrypt, rotate, new key groups): age is built in,
/// PGP through gpg, AWS KMS over the network.
pub fn sealing_keyring() -> Keyring {
    Keyring::new()
        .with_source(pgp_native())
        .with_source(gpg())
        .with_source(aws())
        .with_source(vault())
        .with_source(gcp())
        .with_source(azure())
}

/// The pure-Rust OpenPGP key source: the legacy keyrings `pubring.gpg` / `secring.gpg` of
/// `GNUPGHOME` (or `~/.gnupg`), tried before gpg as sops does.
pub fn pgp_native() -> sops_core::keys::pgp_native::PgpNative {
    sops_core::keys::pgp_native::PgpNative::new(SystemEnvironment)
}

/// The gpg key source: `SOPS_GPG_EXEC` or `gpg`, with the ambient `GNUPGHOME`.
pub fn gpg() -> sops_core::keys::pgp::Gpg {
    let program = std::env::var("SOPS_GPG_EXEC")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "gpg".to_owned());
    sops_core::keys::pgp::Gpg::new(program, None)
}

/// The path creation rules see for `name` with this config.
pub fn rule_path(config: &Loaded, name: &str) -> String {
    let p = Path::new(name);
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    sops_core::config::rule_path(&config.dir, &abs)
}

/// Parses an encrypted input. sops reports unreadable encrypted input as a generic error
/// (exit 1), unlike plaintext input to encrypt ("could not read input", exit 2).
pub fn parse_encrypted(format: Format, input: &[u8]) -> Result<EncryptedFile, CliError> {
    EncryptedFile::parse(format, input).map_err(|e| {
        let mut err = CliError::from(e);
        if err.code == codes::COULD_NOT_READ_INPUT {
            err.code = codes::GENERIC;
        }
        err
    })
}

/// The keyring with the environment's identities, and a hint listing where they were looked
/// for, for "could not recover the data key" errors.
pub fn decryption_keyring(order: Option<&str>) -> Result<(Keyring, String), CliError> {
    let (mut ring, found) = keyring(order)?;
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
    ring.add_source(found.identities);
    Ok((ring, hint))
}

/// Adds the identity hint to data-key failures.
pub fn with_key_hint(e: Error, hint: &str) -> CliError {
    match e {
        Error::DataKey(DataKeyError::Unrecoverable { .. }) => CliError::from(e).hint(hint),
        other => other.into(),
    }
}

/// Reads, parses and decrypts a file for writing back (IVs recorded for stable ciphertext).
pub fn open_for_write(
    path: &Path,
    format: Format,
    ignore_mac: bool,
    order: Option<&str>,
) -> Result<DecryptedFile, CliError> {
    let input = io::read_input(Some(path))?;
    let file = parse_encrypted(format, &input)?;
    drop(input);
    let (ring, hint) = decryption_keyring(order)?;
    file.decrypt(
        &ring,
        &DecryptOptions {
            ignore_mac,
            read_only: false,
        },
    )
    .map_err(|e| with_key_hint(e, &hint))
}

/// An existing file argument, or sops' "no file" error (exit 100).
pub fn existing_file(file: Option<&Path>) -> Result<PathBuf, CliError> {
    let f =
        file.ok_or_else(|| CliError::new(codes::NO_FILE_SPECIFIED, "error: no file specified"))?;
    if !f.exists() {
        return Err(CliError::new(
            codes::NO_FILE_SPECIFIED,
            format!("error: cannot operate on non-existent file {}", f.display()),
        ));
    }
    Ok(f.to_path_buf())
}

/// Formats for a file: `--input-type`/`--output-type` if known, else the extension.
pub fn formats(
    name: &str,
    input_type: Option<&str>,
    output_type: Option<&str>,
) -> (Format, Format) {
    let by_name = Format::from_path(name);
    (
        input_type.and_then(Format::from_name).unwrap_or(by_name),
        output_type.and_then(Format::from_name).unwrap_or(by_name),
    )
}

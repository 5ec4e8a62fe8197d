//! `rsops filestatus FILE`: whether a file is a complete SOPS file (`{"encrypted":true}`).

use std::path::PathBuf;

use sops_core::metadata::MetadataError;
use sops_core::{EncryptedFile, Error};

use crate::cmd::{existing_file, formats};
use crate::error::{CliError, codes};
use crate::io;

/// Options of `filestatus`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to inspect.
    pub file: Option<PathBuf>,
    /// Input format (default: from the extension).
    #[arg(long = "input-type")]
    pub input_type: Option<String>,
}

/// Runs filestatus: encrypted iff the metadata loads with a `version` and a `mac`.
pub fn run(args: &Args) -> Result<(), CliError> {
    let file = existing_file(args.file.as_deref())?;
    let (format, _) = formats(&file.to_string_lossy(), args.input_type.as_deref(), None);
    let input = io::read_input(Some(&file))?;
    let encrypted = match EncryptedFile::parse(format, &input) {
        Ok(f) => !f.metadata.version.is_empty() && !f.metadata.mac.is_empty(),
        Err(Error::Metadata(MetadataError::NotFound)) => false,
        Err(e) => return Err(CliError::new(codes::GENERIC, e.to_string())),
    };
    io::write_stdout(format!("{{\"encrypted\":{encrypted}}}\n").as_bytes())
}

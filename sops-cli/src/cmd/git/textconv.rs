//! `rsops git textconv FILE`: what `git diff` and `git log -p` show for a SOPS file.
//!
//! git hands over temporary files (`/tmp/XXXXXX_name.yaml`), so creation rules are never
//! consulted (sops#666, #959); the format comes from the extension git keeps.

use std::path::Path;

use sops_core::{EncryptedFile, Error, Format, store};

use super::engine::{Engine, OpenError};
use super::repo::Repo;
use crate::error::CliError;
use crate::io;

/// Prints the plaintext of `file`, or the file as it is when it is not a SOPS file or no
/// identity opens it.
pub fn run(file: &Path) -> Result<(), CliError> {
    let bytes = io::read_input(Some(file))?;
    let format = Format::from_path(&file.to_string_lossy());
    let Ok(parsed) = EncryptedFile::parse(format, &bytes) else {
        return io::write_stdout(&bytes);
    };
    // Outside a repository (a plain `git diff --no-index`), still decrypt.
    let mut engine = Engine::with_repo(Repo::discover_or_cwd());
    match engine.open(parsed, true) {
        Ok(dec) => {
            let out = zeroize::Zeroizing::new(
                store::emit(format, &dec.tree, &Default::default())
                    .map_err(|e| CliError::from(Error::from(e)))?,
            );
            io::write_stdout(&out)
        }
        Err(OpenError::NoKey(_)) => {
            eprintln!(
                "rsops: no identity opens {}; showing ciphertext",
                file.display()
            );
            io::write_stdout(&bytes)
        }
        Err(OpenError::Failed(e)) => {
            eprintln!(
                "rsops: {}: {}; showing ciphertext",
                file.display(),
                e.message.trim_end()
            );
            io::write_stdout(&bytes)
        }
    }
}

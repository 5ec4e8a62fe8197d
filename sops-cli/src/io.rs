//! Input and output: stdin or files in, stdout or atomically replaced files out.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{CliError, codes};

/// Reads the input file, or stdin when `path` is `None`.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>, CliError> {
    match path {
        Some(p) => std::fs::read(p).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                codes::NO_FILE_SPECIFIED
            } else {
                codes::COULD_NOT_READ_INPUT
            };
            CliError::new(code, format!("cannot read {}: {e}", p.display()))
        }),
        None => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                CliError::new(
                    codes::COULD_NOT_READ_INPUT,
                    format!("cannot read stdin: {e}"),
                )
            })?;
            Ok(buf)
        }
    }
}

/// Replaces `path` atomically: a temp file in the same folder, fsync, rename. The original's
/// permissions are kept; on any failure the original is untouched.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let fail = |e: &dyn std::fmt::Display| {
        CliError::new(
            codes::COULD_NOT_WRITE_OUTPUT,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rsops-")
        .tempfile_in(dir)
        .map_err(|e| fail(&e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| fail(&e))?;
    }
    tmp.write_all(data).map_err(|e| fail(&e))?;
    tmp.as_file().sync_all().map_err(|e| fail(&e))?;
    tmp.persist(path).map_err(|e| fail(&e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(data: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(data).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(
            codes::COULD_NOT_WRITE_OUTPUT,
            format!("cannot write to stdout: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Creates `path` (which must not exist) readable by the owner only (0600) and writes `data`:
/// how plaintext is handed to editors and commands.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let fail = |e: std::io::Error| {
        CliError::new(
            codes::COULD_NOT_WRITE_OUTPUT,
            format!("cannot write the temporary file: {e}"),
        )
    };
    let mut f = options.open(path).map_err(fail)?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(fail)
}

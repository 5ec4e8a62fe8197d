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
    let mut out = Output::replacing(path)?;
    out.write(data).map_err(|e| out.error(&e))?;
    out.finish()
}

/// An output written as it is produced: a big encrypted file need not be held whole.
pub enum Output {
    /// A temp file beside `path`, renamed over it once complete ([`write_atomic`]).
    Replace {
        /// The file to replace.
        path: std::path::PathBuf,
        /// The temp file being written.
        tmp: tempfile::NamedTempFile,
    },
    /// Stdout redirected to an empty regular file (`> out.yaml`): written directly, and
    /// truncated back to empty if the run fails, as if nothing had been written.
    File(std::fs::File),
    /// Any other stdout (a pipe, a terminal): gathered and written once complete.
    Gathered(Vec<u8>),
}

impl Output {
    /// The temp-file output for replacing `path` (with `path`'s permissions when it exists).
    pub fn replacing(path: &Path) -> Result<Self, CliError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let fail = |e: &dyn std::fmt::Display| write_error(path, e);
        let tmp = tempfile::Builder::new()
            .prefix(".rsops-")
            .tempfile_in(dir)
            .map_err(|e| fail(&e))?;
        if let Ok(meta) = std::fs::metadata(path) {
            tmp.as_file()
                .set_permissions(meta.permissions())
                .map_err(|e| fail(&e))?;
        }
        Ok(Self::Replace {
            path: path.to_owned(),
            tmp,
        })
    }

    /// The output for stdout: written directly when it is an empty regular file at its
    /// start, else gathered.
    pub fn stdout() -> Self {
        use std::io::Seek;
        use std::os::fd::AsFd;
        let file = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from);
        if let Ok(mut file) = file {
            let empty = file.metadata().is_ok_and(|m| m.is_file() && m.len() == 0);
            if empty && file.stream_position().is_ok_and(|p| p == 0) {
                return Self::File(file);
            }
        }
        Self::Gathered(Vec::new())
    }

    /// Appends `data`.
    pub fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Replace { tmp, .. } => tmp.write_all(data),
            Self::File(f) => f.write_all(data),
            Self::Gathered(buf) => {
                buf.extend_from_slice(data);
                Ok(())
            }
        }
    }

    /// The error for a failed write to this output.
    pub fn error(&self, e: &dyn std::fmt::Display) -> CliError {
        match self {
            Self::Replace { path, .. } => write_error(path, e),
            _ => CliError::new(
                codes::COULD_NOT_WRITE_OUTPUT,
                format!("cannot write to stdout: {e}"),
            ),
        }
    }

    /// Drops what was written: the temp file is removed, stdout's file truncated to empty.
    pub fn discard(self) -> Result<(), CliError> {
        match self {
            Self::Replace { .. } | Self::Gathered(_) => Ok(()),
            Self::File(f) => {
                use std::io::Seek;
                let mut f = f;
                f.set_len(0)
                    .and_then(|()| f.rewind())
                    .map_err(|e| Self::File(f).error(&e))
            }
        }
    }

    /// Completes the output: the temp file is synced and renamed over the target, gathered
    /// output is written to stdout.
    pub fn finish(self) -> Result<(), CliError> {
        match self {
            Self::Replace { path, mut tmp } => {
                let fail = |e: &dyn std::fmt::Display| write_error(&path, e);
                tmp.flush().map_err(|e| fail(&e))?;
                tmp.as_file().sync_all().map_err(|e| fail(&e))?;
                tmp.persist(&path).map_err(|e| fail(&e.error))?;
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Self::File(mut f) => f.flush().map_err(|e| Self::File(f).error(&e)),
            Self::Gathered(buf) => write_stdout(&buf),
        }
    }
}

fn write_error(path: &Path, e: &dyn std::fmt::Display) -> CliError {
    CliError::new(
        codes::COULD_NOT_WRITE_OUTPUT,
        format!("cannot write {}: {e}", path.display()),
    )
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

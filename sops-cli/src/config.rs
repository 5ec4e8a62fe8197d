//! Finding and loading `.sops.yaml` (from the working directory upwards, as sops does).

use std::path::{Path, PathBuf};

use sops_core::config::Config;

use crate::error::{CliError, codes};

/// A loaded config and the folder it applies to.
pub struct Loaded {
    /// The parsed config.
    pub config: Config,
    /// The folder holding the config file (creation rules match paths relative to it).
    pub dir: PathBuf,
}

/// Loads `--config`/`SOPS_CONFIG`, or the first `.sops.yaml` from the working directory up
/// (at most 100 levels). `None` when there is none.
pub fn load(explicit: Option<&Path>) -> Result<Option<Loaded>, CliError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match find()? {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        CliError::new(
            codes::GENERIC,
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    let config = Config::parse(&bytes)
        .map_err(|e| CliError::new(codes::GENERIC, format!("{}: {e}", path.display())))?;
    let abs = std::path::absolute(&path).unwrap_or(path);
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Some(Loaded { config, dir }))
}

fn find() -> Result<Option<PathBuf>, CliError> {
    let mut dir = std::env::current_dir().map_err(|e| {
        CliError::new(
            codes::GENERIC,
            format!("cannot get the working directory: {e}"),
        )
    })?;
    for _ in 0..100 {
        let candidate = dir.join(".sops.yaml");
        if candidate.is_file() {
            return Ok(Some(candidate));
        }
        if dir.join(".sops.yml").is_file() {
            eprintln!(
                "warning: found {} but sops only reads .sops.yaml; rename it",
                dir.join(".sops.yml").display()
            );
        }
        if !dir.pop() {
            break;
        }
    }
    Ok(None)
}

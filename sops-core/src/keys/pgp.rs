//! OpenPGP master keys through the `gpg` binary, as sops' fallback path does
//! (`pgp/keysource.go`). Behind the `gpg` feature because it runs a process.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// Runs `gpg` (or `SOPS_GPG_EXEC`) with an optional `GNUPGHOME`.
#[derive(Clone, Debug)]
pub struct Gpg {
    program: PathBuf,
    home: Option<PathBuf>,
}

impl Gpg {
    /// `program` is the gpg executable; `home` overrides `GNUPGHOME` when set.
    pub fn new(program: impl Into<PathBuf>, home: Option<PathBuf>) -> Self {
        Self {
            program: program.into(),
            home,
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(home) = &self.home {
            cmd.env("GNUPGHOME", home);
        }
        cmd.arg("--batch").arg("--no-tty");
        cmd
    }

    fn run(&self, mut cmd: Command, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input)
                .map_err(|e| format!("cannot write to gpg: {e}"))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("gpg failed: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(format!("gpg exited with {}: {}", out.status, last.trim()));
        }
        Ok(Zeroizing::new(out.stdout))
    }
}

impl KeySource for Gpg {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        if key.kind != KeyKind::Pgp {
            return None;
        }
        let fp = key.field("fp").unwrap_or("").to_owned();
        let trusted: String = {
            let bare = fp.trim_end_matches('!');
            let n = if fp.ends_with('!') { 17 } else { 16 };
            let tail = &bare[bare.len().saturating_sub(n.min(bare.len()))..];
            tail.to_owned()
        };
        let mut cmd = self.command();
        cmd.args([
            "--no-default-recipient",
            "--yes",
            "--encrypt",
            "-a",
            "-r",
            &fp,
            "--trusted-key",
            &trusted,
            "--no-encrypt-to",
        ]);
        Some(
            self.run(cmd, secret)
                .map_err(|e| {
                    KeyError::new(key, format!("could not encrypt data key with PGP key: {e}"))
                })
                .map(|out| {
                    // sops trims gpg's output, hence `enc: |-` in YAML.
                    let enc = String::from_utf8_lossy(&out).trim().to_owned();
                    let created = Timestamp::now_utc().to_rfc3339();
                    MasterKey::new(
                        KeyKind::Pgp,
                        &[("created_at", &created), ("enc", &enc), ("fp", &fp)],
                    )
                }),
        )
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::Pgp {
            return None;
        }
        let mut cmd = self.command();
        cmd.arg("-d");
        Some(
            self.run(cmd, key.enc().as_bytes())
                .map_err(|e| {
                    KeyError::new(key, format!("could not decrypt data key with PGP key: {e}"))
                })
                .and_then(|out| {
                    if out.is_empty() {
                        Err(KeyError::new(
                            key,
                            "could not decrypt data key with PGP key: gpg returned nothing",
                        ))
                    } else {
                        Ok(out)
                    }
                }),
        )
    }
}

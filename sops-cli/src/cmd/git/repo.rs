//! The repository as the `git` binary sees it: its top folder, config, attributes and objects.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::error::{CliError, codes};

/// A git working tree.
pub struct Repo {
    /// The top folder (absolute).
    pub root: PathBuf,
}

/// An error from running git.
pub fn git_error(what: &str, detail: impl std::fmt::Display) -> CliError {
    CliError::new(codes::GENERIC, format!("git {what}: {detail}"))
}

impl Repo {
    /// The repository around the working directory.
    pub fn discover() -> Result<Self, CliError> {
        let out = Command::new("git")
            .args(["rev-parse", "--show-toplevel"])
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| {
                git_error("rev-parse", e).hint("rsops git needs the `git` binary on PATH")
            })?;
        if !out.status.success() {
            return Err(CliError::new(
                codes::GENERIC,
                format!(
                    "not inside a git working tree: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )
            .hint("run this inside the repository's working tree"));
        }
        let text = String::from_utf8(out.stdout)
            .map_err(|_| git_error("rev-parse", "the top folder is not UTF-8"))?;
        Ok(Self {
            root: PathBuf::from(text.trim_end_matches('\n')),
        })
    }

    /// The repository around the working directory, else the working directory itself (for
    /// textconv and the merge driver, which git may also run outside a work tree).
    pub fn discover_or_cwd() -> Self {
        Self::discover().unwrap_or_else(|_| Self {
            root: std::env::current_dir().unwrap_or_default(),
        })
    }

    /// The index entries (`git ls-files --stage`) as (blob id, path, stage), without
    /// submodules.
    pub fn staged(&self) -> Result<Vec<(String, String, u8)>, CliError> {
        let listed = self.output(&["ls-files", "-z", "--stage"])?;
        let mut entries = Vec::new();
        for rec in listed.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let rec = String::from_utf8_lossy(rec);
            let Some((meta, path)) = rec.split_once('\t') else {
                continue;
            };
            let fields: Vec<&str> = meta.split(' ').collect();
            if let [mode, id, stage] = fields[..]
                && mode != "160000"
            {
                entries.push((id.to_owned(), path.to_owned(), stage.parse().unwrap_or(0)));
            }
        }
        Ok(entries)
    }

    /// A `git` command run in the top folder.
    pub fn git(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.root);
        c
    }

    /// Runs git and returns its stdout, or an error with its stderr.
    pub fn output(&self, args: &[&str]) -> Result<Vec<u8>, CliError> {
        let out = self
            .git()
            .args(args)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| git_error(args.first().copied().unwrap_or(""), e))?;
        if !out.status.success() {
            return Err(git_error(
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stderr).trim(),
            ));
        }
        Ok(out.stdout)
    }

    /// `git config --local KEY VALUE`.
    pub fn set_config(&self, key: &str, value: &str) -> Result<(), CliError> {
        self.output(&["config", "--local", key, value]).map(|_| ())
    }

    /// `git config --get KEY`, `None` when unset.
    pub fn get_config(&self, key: &str) -> Option<String> {
        let out = self.git().args(["config", "--get", key]).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
    }

    /// The value of attribute `attr` for each path (`unspecified` when not set).
    pub fn attributes(
        &self,
        attr: &str,
        paths: &[String],
        cached: bool,
    ) -> Result<Vec<String>, CliError> {
        let mut cmd = self.git();
        cmd.args(["check-attr", "-z", "--stdin"]);
        if cached {
            cmd.arg("--cached");
        }
        cmd.arg(attr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| git_error("check-attr", e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input: Vec<u8> = paths
            .iter()
            .flat_map(|p| p.bytes().chain(std::iter::once(0)))
            .collect();
        // Write from a thread: git answers while it reads, so a big list could fill both pipes.
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child
            .wait_with_output()
            .map_err(|e| git_error("check-attr", e))?;
        let _ = writer.join();
        if !out.status.success() {
            return Err(git_error(
                "check-attr",
                String::from_utf8_lossy(&out.stderr).trim(),
            ));
        }
        // Output: path NUL attr NUL value NUL, in input order.
        let fields: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        Ok(fields
            .chunks(3)
            .filter(|c| c.len() == 3)
            .map(|c| String::from_utf8_lossy(c[2]).into_owned())
            .collect())
    }
}

/// A `git cat-file --batch` process: object contents by name, one process for many lookups.
pub struct CatFile {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl CatFile {
    /// Starts `git cat-file --batch` in `root`.
    pub fn start(root: &Path) -> Result<Self, CliError> {
        let mut child = Command::new("git")
            .current_dir(root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| git_error("cat-file", e))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// The contents of blob `name` (`:0:path`, `HEAD:path`, an id), `None` if it does not
    /// exist or is not a blob.
    pub fn blob(&mut self, name: &str) -> Result<Option<Vec<u8>>, CliError> {
        if name.contains('\n') {
            return Ok(None);
        }
        let fail = |e: std::io::Error| git_error("cat-file", e);
        self.stdin
            .write_all(format!("{name}\n").as_bytes())
            .map_err(fail)?;
        self.stdin.flush().map_err(fail)?;
        let mut header = String::new();
        self.stdout.read_line(&mut header).map_err(fail)?;
        let parts: Vec<&str> = header.trim_end().split(' ').collect();
        if parts.len() != 3 {
            // `<name> missing` or `<name> ambiguous`.
            return Ok(None);
        }
        let size: usize = parts[2]
            .parse()
            .map_err(|_| git_error("cat-file", format!("bad header {header:?}")))?;
        let mut data = vec![0u8; size + 1];
        self.stdout.read_exact(&mut data).map_err(fail)?;
        data.pop();
        Ok((parts[1] == "blob").then_some(data))
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

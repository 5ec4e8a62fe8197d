//! age identity discovery from `SOPS_AGE_*` variables and key files, through an injectable
//! [`Environment`] (feature `env`), following sops' `age/keysource.go: loadIdentities`.
//!
//! Every location is consulted, as sops 3.11 does: SSH keys (`SOPS_AGE_SSH_PRIVATE_KEY_FILE`,
//! `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`), `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`,
//! `SOPS_AGE_KEY_CMD`, and the default `<config dir>/sops/age/keys.txt`.

use std::io;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::keys::age::Identities;

/// Where discovery reads from. Tests pass a fake; programs use [`SystemEnvironment`].
pub trait Environment {
    /// An environment variable (`None` if unset or not UTF-8).
    fn var(&self, name: &str) -> Option<String>;
    /// Reads a file.
    fn read_file(&self, path: &Path) -> io::Result<Zeroizing<Vec<u8>>>;
    /// Runs a program (no shell) and returns its standard output.
    fn run(&self, argv: &[String]) -> io::Result<Zeroizing<Vec<u8>>>;
    /// Whether this is macOS (changes the default config directory).
    fn is_macos(&self) -> bool {
        false
    }
}

/// The real process environment, file system and processes.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
        std::fs::read(path).map(Zeroizing::new)
    }

    fn run(&self, argv: &[String]) -> io::Result<Zeroizing<Vec<u8>>> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let out = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "command exited with {}",
                out.status
            )));
        }
        Ok(Zeroizing::new(out.stdout))
    }

    fn is_macos(&self) -> bool {
        cfg!(target_os = "macos")
    }
}

/// What discovery found: the identities, where it looked, and what failed.
pub struct Discovered {
    /// Every identity found.
    pub identities: Identities,
    /// Locations consulted (variables and paths), for hints when decryption fails.
    pub checked: Vec<String>,
    /// Per-location failures (no key material in them).
    pub errors: Vec<String>,
}

/// The default identities file: `$XDG_CONFIG_HOME/sops/age/keys.txt`, else
/// `$HOME/.config/sops/age/keys.txt` (macOS without XDG: `~/Library/Application Support`).
pub fn default_keys_path(env: &dyn Environment) -> Option<PathBuf> {
    let base = match env.var("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => {
            let home = PathBuf::from(env.var("HOME").filter(|v| !v.is_empty())?);
            if env.is_macos() {
                home.join("Library").join("Application Support")
            } else {
                home.join(".config")
            }
        }
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// Loads age identities from every location sops consults.
pub fn discover_age(env: &dyn Environment) -> Discovered {
    let mut found = Discovered {
        identities: Identities::new(),
        checked: Vec::new(),
        errors: Vec::new(),
    };
    // 1. SSH keys.
    let home = env.var("HOME").filter(|h| !h.is_empty());
    if let Some(path) = env
        .var("SOPS_AGE_SSH_PRIVATE_KEY_FILE")
        .filter(|v| !v.is_empty())
    {
        found
            .checked
            .push(format!("SOPS_AGE_SSH_PRIVATE_KEY_FILE ({path})"));
        match env.read_file(Path::new(&path)) {
            Ok(bytes) => {
                if let Err(e) = found.identities.add_ssh_key(&bytes, Some(path.clone())) {
                    found.errors.push(format!("{path}: {e}"));
                }
            }
            Err(e) => found.errors.push(format!("{path}: {e}")),
        }
    } else if let Some(home) = &home {
        for name in ["id_ed25519", "id_rsa"] {
            let path = Path::new(home).join(".ssh").join(name);
            if let Ok(bytes) = env.read_file(&path) {
                found.checked.push(path.display().to_string());
                // A default SSH key that age cannot use is not an error worth reporting.
                let _ = found
                    .identities
                    .add_ssh_key(&bytes, Some(path.display().to_string()));
            }
        }
    }
    // 2. SOPS_AGE_KEY.
    if let Some(text) = env.var("SOPS_AGE_KEY").filter(|v| !v.is_empty()) {
        found.checked.push("SOPS_AGE_KEY".to_owned());
        let text = Zeroizing::new(text);
        if let Err(e) = found.identities.add_identity_file(text.as_bytes()) {
            found.errors.push(format!("SOPS_AGE_KEY: {e}"));
        }
    }
    // 3. SOPS_AGE_KEY_FILE.
    if let Some(path) = env.var("SOPS_AGE_KEY_FILE").filter(|v| !v.is_empty()) {
        found.checked.push(format!("SOPS_AGE_KEY_FILE ({path})"));
        load_file(env, Path::new(&path), &mut found, true);
    }
    // 4. SOPS_AGE_KEY_CMD.
    if let Some(cmd) = env.var("SOPS_AGE_KEY_CMD").filter(|v| !v.is_empty()) {
        found.checked.push("SOPS_AGE_KEY_CMD".to_owned());
        match shell_words(&cmd) {
            Some(argv) if !argv.is_empty() => match env.run(&argv) {
                Ok(out) => {
                    if let Err(e) = found.identities.add_identity_file(&out) {
                        found.errors.push(format!("SOPS_AGE_KEY_CMD: {e}"));
                    }
                }
                Err(e) => found
                    .errors
                    .push(format!("SOPS_AGE_KEY_CMD: failed to run the command: {e}")),
            },
            _ => found
                .errors
                .push("SOPS_AGE_KEY_CMD: cannot split the command line".to_owned()),
        }
    }
    // 5. The default keys file (a missing file is only worth mentioning if nothing was found).
    if let Some(path) = default_keys_path(env) {
        found.checked.push(path.display().to_string());
        load_file(env, &path, &mut found, false);
    }
    found
}

fn load_file(env: &dyn Environment, path: &Path, found: &mut Discovered, report_missing: bool) {
    match env.read_file(path) {
        Ok(bytes) => {
            if let Err(e) = found.identities.add_identity_file(&bytes) {
                found.errors.push(format!("{}: {e}", path.display()));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && !report_missing => {}
        Err(e) => found.errors.push(format!("{}: {e}", path.display())),
    }
}

/// Splits a command line with POSIX-shell-like quoting (no expansion), as sops' `shlex` does.
pub fn shell_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => cur.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            ch @ ('"' | '\\' | '$' | '`') => cur.push(ch),
                            '\n' => {}
                            ch => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                        },
                        ch => cur.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(ch) => cur.push(ch),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// One in-memory [`Environment`] for the unit tests of every key source: variables, files,
/// and canned outputs per argv; every argv run is recorded.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct FakeEnv {
    pub(crate) vars: std::collections::HashMap<String, String>,
    pub(crate) files: std::collections::HashMap<PathBuf, Vec<u8>>,
    /// argv → its standard output, or `None` when it exits with status 1.
    pub(crate) outputs: std::collections::HashMap<Vec<String>, Option<Vec<u8>>>,
    /// Shared, so a test still sees it after handing the environment to a key source.
    pub(crate) ran: std::rc::Rc<std::cell::RefCell<Vec<Vec<String>>>>,
}

#[cfg(test)]
impl FakeEnv {
    /// Sets a variable.
    pub(crate) fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }
    /// Adds a file.
    pub(crate) fn file(&mut self, path: &str, content: impl Into<Vec<u8>>) -> &mut Self {
        self.files.insert(PathBuf::from(path), content.into());
        self
    }
    /// Gives `argv` this standard output. A program with no output set is not installed.
    pub(crate) fn output(&mut self, argv: &[&str], out: impl Into<Vec<u8>>) -> &mut Self {
        let argv = argv.iter().map(|a| (*a).to_owned()).collect();
        self.outputs.insert(argv, Some(out.into()));
        self
    }
    /// Makes `argv` exit with status 1.
    pub(crate) fn fails(&mut self, argv: &[&str]) -> &mut Self {
        let argv = argv.iter().map(|a| (*a).to_owned()).collect();
        self.outputs.insert(argv, None);
        self
    }
    /// How many programs were run.
    pub(crate) fn runs(&self) -> usize {
        self.ran.borrow().len()
    }
    /// Moves the environment out of a builder chain.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::take(self)
    }
}

#[cfg(test)]
impl Environment for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
    fn read_file(&self, path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
        self.files
            .get(path)
            .cloned()
            .map(Zeroizing::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
    fn run(&self, argv: &[String]) -> io::Result<Zeroizing<Vec<u8>>> {
        self.ran.borrow_mut().push(argv.to_vec());
        match self.outputs.get(argv) {
            Some(Some(out)) => Ok(Zeroizing::new(out.clone())),
            Some(None) => Err(io::Error::other("command exited with exit status: 1")),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: not installed", argv[0]),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use age::secrecy::ExposeSecret;

    use super::*;

    fn key() -> String {
        age::x25519::Identity::generate()
            .to_string()
            .expose_secret()
            .to_owned()
    }

    #[test]
    fn every_location_is_combined() {
        let mut env = FakeEnv::default();
        env.set("HOME", "/home/u")
            .set("SOPS_AGE_KEY", &key())
            .set("SOPS_AGE_KEY_FILE", "/k/file.txt")
            .set("SOPS_AGE_KEY_CMD", "get-key --name 'a b'")
            .file("/k/file.txt", format!("# c\n{}\n", key()))
            .file("/home/u/.config/sops/age/keys.txt", key())
            .output(&["get-key", "--name", "a b"], key());
        let found = discover_age(&env);
        assert_eq!(found.identities.len(), 4, "{:?}", found.errors);
        assert!(found.errors.is_empty());
        assert_eq!(env.runs(), 1);
    }

    #[test]
    fn xdg_config_home_wins_and_errors_are_reported() {
        let mut env = FakeEnv::default();
        env.set("HOME", "/home/u")
            .set("XDG_CONFIG_HOME", "/xdg")
            .set("SOPS_AGE_KEY_FILE", "/missing");
        assert_eq!(
            default_keys_path(&env),
            Some(PathBuf::from("/xdg/sops/age/keys.txt"))
        );
        let found = discover_age(&env);
        assert_eq!(found.identities.len(), 0);
        assert_eq!(found.errors.len(), 1, "{:?}", found.errors);
        assert!(found.errors[0].starts_with("/missing"));
    }

    #[test]
    fn shell_words_quoting() {
        assert_eq!(
            shell_words(r#"a 'b c' "d \"e\"" f\ g"#).unwrap(),
            ["a", "b c", "d \"e\"", "f g"]
        );
        assert_eq!(shell_words("'open"), None);
    }
}

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use age::secrecy::ExposeSecret;

    use super::*;

    #[derive(Default)]
    struct Fake {
        vars: HashMap<String, String>,
        files: HashMap<PathBuf, Vec<u8>>,
        cmd_out: Option<Vec<u8>>,
    }

    impl Environment for Fake {
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
            assert_eq!(argv, ["get-key", "--name", "a b"]);
            self.cmd_out
                .clone()
                .map(Zeroizing::new)
                .ok_or_else(|| io::Error::other("no"))
        }
    }

    fn key() -> String {
        age::x25519::Identity::generate()
            .to_string()
            .expose_secret()
            .to_owned()
    }

    #[test]
    fn every_location_is_combined() {
        let mut env = Fake::default();
        env.vars.insert("HOME".into(), "/home/u".into());
        env.vars.insert("SOPS_AGE_KEY".into(), key());
        env.vars
            .insert("SOPS_AGE_KEY_FILE".into(), "/k/file.txt".into());
        env.vars
            .insert("SOPS_AGE_KEY_CMD".into(), "get-key --name 'a b'".into());
        env.files.insert(
            "/k/file.txt".into(),
            format!("# c\n{}\n", key()).into_bytes(),
        );
        env.files.insert(
            "/home/u/.config/sops/age/keys.txt".into(),
            key().into_bytes(),
        );
        env.cmd_out = Some(key().into_bytes());
        let found = discover_age(&env);
        assert_eq!(found.identities.len(), 4, "{:?}", found.errors);
        assert!(found.errors.is_empty());
    }

    #[test]
    fn xdg_config_home_wins_and_errors_are_reported() {
        let mut env = Fake::default();
        env.vars.insert("HOME".into(), "/home/u".into());
        env.vars.insert("XDG_CONFIG_HOME".into(), "/xdg".into());
        env.vars
            .insert("SOPS_AGE_KEY_FILE".into(), "/missing".into());
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

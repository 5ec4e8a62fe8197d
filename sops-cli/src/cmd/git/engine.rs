//! What clean, smudge, textconv and merge share: configs, identities and data keys loaded
//! once per process, and the stable clean/smudge transforms.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use sha2::{Digest, Sha256};
use sops_core::keys::DataKeyError;
use sops_core::metadata::MetadataError;
use sops_core::{
    DataKey, DecryptOptions, DecryptedFile, EncryptOptions, EncryptedFile, Error, Format, KeyGroup,
    Keyring, Metadata, StoreOptions, file, store,
};
use zeroize::Zeroize;

use super::repo::{CatFile, Repo};
use crate::cmd::decryption_keyring;
use crate::config::{self, Loaded};
use crate::error::{CliError, codes};

/// Why a file could not be opened.
pub enum OpenError {
    /// No identity of this process unwraps the data key.
    NoKey(CliError),
    /// Anything else (tampered value, MAC mismatch, bad metadata).
    Failed(CliError),
}

impl OpenError {
    /// The error, whatever the reason.
    pub fn into_error(self) -> CliError {
        match self {
            Self::NoKey(e) | Self::Failed(e) => e,
        }
    }
}

/// Per-process state of the git integration.
pub struct Engine {
    /// The repository.
    pub repo: Repo,
    configs: HashMap<PathBuf, Option<Rc<Loaded>>>,
    explicit_config: Option<Option<Rc<Loaded>>>,
    ring: Option<(Keyring, String)>,
    keys: HashMap<[u8; 32], DataKey>,
    index: Option<CatFile>,
    warned_locked: bool,
    /// Per path, the last (plaintext digest, blob) pair this process smudged or cleaned.
    /// git may clean a file it just checked out before it writes its new index to disk
    /// (rebase, merge, racy stat checks), so the staged blob read from disk can be stale;
    /// this pairing is always a valid encryption of that plaintext.
    recent: HashMap<String, ([u8; 32], Vec<u8>)>,
}

/// Whether `input` may hold sops metadata at all (a cheap test before a full parse).
fn mentions_sops(format: Format, input: &[u8]) -> bool {
    let needle: &[u8] = match format {
        Format::Dotenv => b"sops_",
        _ => b"sops",
    };
    input.windows(needle.len()).any(|w| w == needle)
}

impl Engine {
    /// State for the repository around the working directory.
    pub fn new() -> Result<Self, CliError> {
        Ok(Self::with_repo(Repo::discover()?))
    }

    /// State for `repo`.
    pub fn with_repo(repo: Repo) -> Self {
        Self {
            repo,
            configs: HashMap::new(),
            explicit_config: None,
            ring: None,
            keys: HashMap::new(),
            index: None,
            warned_locked: false,
            recent: HashMap::new(),
        }
    }

    /// The `.sops.yaml` that governs `path` (relative to the top folder): `SOPS_CONFIG` if set,
    /// else the nearest one from the file's folder up to the top folder.
    pub fn config_for(&mut self, path: &str) -> Result<Option<Rc<Loaded>>, CliError> {
        if let Some(explicit) = std::env::var_os("SOPS_CONFIG").filter(|v| !v.is_empty()) {
            if self.explicit_config.is_none() {
                let loaded = config::load(Some(Path::new(&explicit)))?;
                self.explicit_config = Some(loaded.map(Rc::new));
            }
            return Ok(self.explicit_config.clone().flatten());
        }
        let mut dir = self.repo.root.join(path);
        dir.pop();
        let mut visited = Vec::new();
        let found = loop {
            if let Some(hit) = self.configs.get(&dir) {
                break hit.clone();
            }
            let candidate = dir.join(".sops.yaml");
            if candidate.is_file() {
                break config::load(Some(&candidate))?.map(Rc::new);
            }
            visited.push(dir.clone());
            if dir == self.repo.root || !dir.pop() || !dir.starts_with(&self.repo.root) {
                break None;
            }
        };
        for d in visited {
            self.configs.insert(d, found.clone());
        }
        Ok(found)
    }

    /// Store settings (`stores` of the governing `.sops.yaml`).
    pub fn store_options(&mut self, path: &str) -> Result<StoreOptions, CliError> {
        Ok(self
            .config_for(path)?
            .map(|c| c.config.stores)
            .unwrap_or_default())
    }

    /// The path a creation rule sees for `path` under `loaded`.
    pub fn rule_path(&self, loaded: &Loaded, path: &str) -> String {
        sops_core::config::rule_path(&loaded.dir, &self.repo.root.join(path))
    }

    /// The encryption settings the creation rule for `path` demands, or an error saying why
    /// the file cannot be encrypted (no config, no rule, no keys).
    pub fn creation_options(&mut self, path: &str) -> Result<EncryptOptions, CliError> {
        let loaded = self.config_for(path)?.ok_or_else(|| {
            CliError::new(
                codes::GENERIC,
                format!("{path}: no .sops.yaml governs this file, so it cannot be encrypted"),
            )
            .hint("add a .sops.yaml with a creation rule for it (rsops refuses to store plaintext)")
        })?;
        let rel = self.rule_path(&loaded, path);
        let rule = loaded
            .config
            .rule_for(&rel)
            .map_err(|e| {
                CliError::new(codes::GENERIC, format!("{path}: {e}")).hint(format!(
                    "add a creation rule whose path_regex matches {rel:?} to {}",
                    loaded.dir.join(".sops.yaml").display()
                ))
            })?
            .filter(|r| !r.key_groups.is_empty())
            .ok_or_else(|| {
                CliError::new(
                    codes::GENERIC,
                    format!("{path}: the matching creation rule names no keys"),
                )
                .hint("add age/pgp keys or key_groups to the rule in .sops.yaml")
            })?;
        Ok(EncryptOptions {
            key_groups: rule.key_groups.clone(),
            shamir_threshold: rule.shamir_threshold,
            rule: rule.rule.clone(),
            mac_only_encrypted: rule.mac_only_encrypted,
        })
    }

    /// The key groups and threshold `path`'s creation rule asks for, when they differ from
    /// `metadata`'s (the same comparison as `updatekeys`); `None` when they match or when no
    /// rule applies.
    fn rekey(&mut self, path: &str, metadata: &Metadata) -> Option<(Vec<KeyGroup>, usize)> {
        let loaded = self.config_for(path).ok()??;
        let rel = self.rule_path(&loaded, path);
        let rule = loaded.config.rule_for(&rel).ok()??;
        if rule.key_groups.is_empty() {
            return None;
        }
        let threshold = rule.threshold_for(metadata.shamir_threshold);
        let same_keys = describe_groups(&rule.key_groups) == describe_groups(&metadata.key_groups);
        let same_threshold = rule.key_groups.len() < 2 || threshold == metadata.shamir_threshold;
        (!(same_keys && same_threshold)).then(|| (rule.key_groups.clone(), threshold))
    }

    fn keyring(&mut self) -> Result<&(Keyring, String), CliError> {
        if self.ring.is_none() {
            let order = std::env::var("SOPS_DECRYPTION_ORDER").ok();
            self.ring = Some(decryption_keyring(order.as_deref())?);
        }
        Ok(self.ring.as_ref().expect("just set"))
    }

    /// Recovers the data key of `file` (cached by its wrapped keys) and decrypts it.
    pub fn open(
        &mut self,
        file: EncryptedFile,
        read_only: bool,
    ) -> Result<DecryptedFile, OpenError> {
        let mut h = Sha256::new();
        h.update(file.metadata.shamir_threshold.to_le_bytes());
        for (i, g) in file.metadata.key_groups.iter().enumerate() {
            h.update(i.to_le_bytes());
            for k in &g.keys {
                for part in [k.identifier().as_str(), k.enc()] {
                    h.update(part.len().to_le_bytes());
                    h.update(part.as_bytes());
                }
            }
        }
        let id: [u8; 32] = h.finalize().into();
        let key = match self.keys.get(&id) {
            Some(k) => k.duplicate(),
            None => {
                let (ring, hint) = self.keyring().map_err(OpenError::Failed)?;
                let key = ring
                    .open(&file.metadata.key_groups, file.metadata.shamir_threshold)
                    .map_err(|e| match e {
                        DataKeyError::Unrecoverable { .. } => {
                            OpenError::NoKey(CliError::from(Error::from(e)).hint(hint.clone()))
                        }
                        other => OpenError::Failed(Error::from(other).into()),
                    })?;
                self.keys.insert(id, key.duplicate());
                key
            }
        };
        file.decrypt_with_key(
            key,
            &DecryptOptions {
                ignore_mac: false,
                read_only,
            },
        )
        .map_err(|e| OpenError::Failed(e.into()))
    }

    /// The staged blob of `path`: stage 0, else "ours" during a conflict.
    fn staged(&mut self, path: &str) -> Result<Option<Vec<u8>>, CliError> {
        if self.index.is_none() {
            self.index = Some(CatFile::start(&self.repo.root)?);
        }
        let cat = self.index.as_mut().expect("just started");
        if let Some(b) = cat.blob(&format!(":0:{path}"))? {
            return Ok(Some(b));
        }
        cat.blob(&format!(":2:{path}"))
    }

    fn warn_locked(&mut self, path: &str, err: &CliError) {
        if !self.warned_locked {
            self.warned_locked = true;
            eprintln!(
                "rsops: warning: no identity here opens {path} (and maybe others); \
                 they stay encrypted in the working tree"
            );
            if let Some(h) = &err.hint {
                eprintln!("hint: {h}");
            }
        }
    }

    /// Working tree -> repository. Returns the staged blob itself when the plaintext did not
    /// change; otherwise re-encrypts with the staged file's data key, keeping the ciphertext
    /// of unchanged values; a new file is encrypted for its creation rule. Never returns
    /// plaintext: anything that cannot be encrypted is an error.
    pub fn clean(&mut self, path: &str, input: &[u8]) -> Result<Vec<u8>, CliError> {
        let digest: [u8; 32] = Sha256::digest(input).into();
        let out = self.clean_inner(path, input, &digest)?;
        self.recent.insert(path.to_owned(), (digest, out.clone()));
        Ok(out)
    }

    fn recent_blob(&self, path: &str, digest: &[u8; 32]) -> Option<Vec<u8>> {
        self.recent
            .get(path)
            .filter(|(d, _)| d == digest)
            .map(|(_, b)| b.clone())
    }

    fn clean_inner(
        &mut self,
        path: &str,
        input: &[u8],
        digest: &[u8; 32],
    ) -> Result<Vec<u8>, CliError> {
        let format = Format::from_path(path);
        if input.is_empty() {
            // An empty file holds no secret (`.gitkeep`); sops cannot encrypt it anyway.
            return Ok(Vec::new());
        }
        if mentions_sops(format, input) {
            match EncryptedFile::parse(format, input) {
                Ok(mut f) => {
                    if f.metadata.mac.is_empty() {
                        return Err(CliError::new(
                            codes::GENERIC,
                            format!("{path}: has a sops block without a mac, refusing to store it"),
                        )
                        .hint("replace it with the plaintext, or repair it with `rsops edit`"));
                    }
                    let leaks = f.plaintext_paths();
                    if !leaks.is_empty() {
                        return Err(CliError::new(
                            codes::GENERIC,
                            format!(
                                "{path}: a SOPS file with values in the clear: {}",
                                leaks.join(", ")
                            ),
                        )
                        .hint("edit encrypted files with `rsops edit`, not by hand"));
                    }
                    // Already a complete SOPS file (a locked checkout, or a copy): as is.
                    return Ok(input.to_vec());
                }
                Err(Error::Metadata(MetadataError::NotFound)) => {}
                Err(e) => {
                    if let Ok(tree) = store::parse(format, input)
                        && file::has_metadata(format, &tree)
                    {
                        return Err(CliError::new(
                            codes::GENERIC,
                            format!("{path}: has a sops block that cannot be read: {e}"),
                        )
                        .hint("replace it with the plaintext, or restore it with `git checkout`"));
                    }
                }
            }
        }
        let opts = self.store_options(path)?;
        if let Some(blob) = self.staged(path)?
            && let Ok(old) = EncryptedFile::parse(format, &blob)
        {
            match self.open(old, false) {
                Ok(mut dec) => {
                    let mut plain = store::emit(format, &dec.tree, &opts)
                        .map_err(|e| CliError::from(Error::from(e)))?;
                    let same = plain == input;
                    plain.zeroize();
                    let rekey = self.rekey(path, &dec.metadata);
                    if same && rekey.is_none() {
                        return Ok(blob);
                    }
                    if !same {
                        if let Some(b) = self.recent_blob(path, digest) {
                            return Ok(b);
                        }
                        let tree = parse_plain(path, format, input)?;
                        dec.tree.zeroize();
                        dec.tree = tree;
                    }
                    let key = dec.data_key().duplicate();
                    let mut enc = dec.into_encrypted().map_err(CliError::from)?;
                    if let Some((groups, threshold)) = rekey {
                        // As `updatekeys`: the data key is re-wrapped, values stay.
                        let ring = crate::cmd::sealing_keyring();
                        match ring.seal(&groups, threshold, &key) {
                            Ok((g, t)) => {
                                enc.metadata.key_groups = g;
                                enc.metadata.shamir_threshold = t;
                            }
                            Err(e) => eprintln!(
                                "rsops: warning: {path}: cannot re-wrap for the keys \
                                 .sops.yaml asks for ({e}); keeping the current keys"
                            ),
                        }
                    }
                    return enc.emit(format, &opts).map_err(CliError::from);
                }
                Err(OpenError::NoKey(e)) => {
                    eprintln!(
                        "rsops: warning: {path}: no identity opens the staged version; \
                             treating it as a new file"
                    );
                    if let Some(h) = &e.hint {
                        eprintln!("hint: {h}");
                    }
                }
                Err(OpenError::Failed(e)) => {
                    eprintln!(
                        "rsops: warning: {path}: the staged version does not open ({}); \
                             treating it as a new file",
                        e.message
                    );
                }
            }
        }
        if let Some(b) = self.recent_blob(path, digest) {
            return Ok(b);
        }
        let options = self.creation_options(path)?;
        let tree = parse_plain(path, format, input)?;
        let ring = crate::cmd::sealing_keyring();
        let with_path = |e: Error| {
            let mut err = CliError::from(e);
            err.message = format!("{path}: {}", err.message);
            err
        };
        let dec = DecryptedFile::create(format, tree, &options, &ring).map_err(with_path)?;
        // A file this clone could not read back would be re-encrypted anew by every clean
        // (a new data key each time), so `git status` would never settle: refuse, and point
        // to the write-only way (encrypt first; complete SOPS files pass through unchanged).
        let (own, hint) = self.keyring()?;
        if own
            .open(&dec.metadata.key_groups, dec.metadata.shamir_threshold)
            .is_err()
        {
            return Err(CliError::new(
                codes::GENERIC,
                format!(
                    "{path}: refusing to add plaintext that no identity of this clone can read \
                     back (a locked clone?)"
                ),
            )
            .hint(format!(
                "to add a secret for keys you do not hold, run `rsops encrypt -i {path}` first \
                 and add the encrypted file; {hint}"
            )));
        }
        let mut enc = dec.into_encrypted().map_err(with_path)?;
        enc.emit(format, &opts).map_err(CliError::from)
    }

    /// Repository -> working tree: the plaintext, or the blob unchanged when it is not a SOPS
    /// file or cannot be opened here (a warning, never a failed checkout).
    pub fn smudge(&mut self, path: &str, blob: Vec<u8>) -> Result<Vec<u8>, CliError> {
        let format = Format::from_path(path);
        let Ok(file) = EncryptedFile::parse(format, &blob) else {
            return Ok(blob);
        };
        match self.open(file, true) {
            Ok(dec) => {
                let opts = self.store_options(path)?;
                let plain = store::emit(format, &dec.tree, &opts)
                    .map_err(|e| CliError::from(Error::from(e)))?;
                let digest: [u8; 32] = Sha256::digest(&plain).into();
                self.recent.insert(path.to_owned(), (digest, blob));
                Ok(plain)
            }
            Err(OpenError::NoKey(e)) => {
                self.warn_locked(path, &e);
                Ok(blob)
            }
            Err(OpenError::Failed(e)) => {
                eprintln!(
                    "rsops: warning: {path}: {}; checked out encrypted",
                    e.message.trim_end()
                );
                Ok(blob)
            }
        }
    }
}

/// Each group's key identifiers, sorted, for order-insensitive comparison.
pub fn describe_groups(groups: &[KeyGroup]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g.keys.iter().map(|k| k.identifier()).collect();
            ids.sort();
            ids
        })
        .collect();
    out.sort();
    out
}

/// Parses working-tree plaintext, refusing input that carries sops metadata.
fn parse_plain(path: &str, format: Format, input: &[u8]) -> Result<sops_core::Tree, CliError> {
    let tree = file::parse_plain(format, input).map_err(|e| {
        let mut err = CliError::from(e);
        err.message = format!("{path}: {}", err.message);
        err.hint("fix the file's syntax; rsops stores nothing it cannot encrypt")
    })?;
    if file::has_metadata(format, &tree) {
        return Err(CliError::new(
            codes::GENERIC,
            format!("{path}: the plaintext has a top-level sops entry, which sops reserves"),
        ));
    }
    Ok(tree)
}

//! age master keys: X25519 and SSH recipients, armored age files as `enc` (`age/keysource.go`).

use std::io::{Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};

/// A new age key entry (`recipient` only; `enc` is filled when the data key is wrapped).
pub fn key_for(recipient: &str) -> MasterKey {
    MasterKey::new(KeyKind::Age, &[("recipient", recipient.trim())])
}

/// Parses a recipient as sops does: `age1…` X25519, `ssh-…` SSH (ed25519 or RSA).
pub fn parse_recipient(recipient: &str) -> Result<Box<dyn age::Recipient + Send>, String> {
    let r = recipient.trim();
    if let Some(rest) = r.strip_prefix("age1") {
        if rest.contains('1') {
            return Err(format!(
                "{r} is an age plugin recipient; plugin recipients are not supported by this build"
            ));
        }
        return age::x25519::Recipient::from_str(r)
            .map(|x| Box::new(x) as Box<dyn age::Recipient + Send>)
            .map_err(|e| format!("failed to parse input as Bech32-encoded age public key: {e}"));
    }
    if r.starts_with("ssh-") {
        return age::ssh::Recipient::from_str(r)
            .map(|x| Box::new(x) as Box<dyn age::Recipient + Send>)
            .map_err(|e| format!("failed to parse SSH public key: {e:?}"));
    }
    Err(format!(
        "{r} is not an age recipient (expected age1… or an SSH public key)"
    ))
}

/// Wraps `secret` to the key's recipient: an ASCII-armored age file with one recipient.
pub(crate) fn wrap(key: &MasterKey, secret: &[u8]) -> Result<MasterKey, KeyError> {
    let recipient_str = key.field("recipient").unwrap_or("");
    let recipient = parse_recipient(recipient_str).map_err(|e| KeyError::new(key, e))?;
    let fail = |e: &dyn std::fmt::Display| {
        KeyError::new(key, format!("failed to encrypt data key with age: {e}"))
    };
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient.as_ref() as &dyn age::Recipient))
            .map_err(|e| fail(&e))?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| fail(&e))?;
    let mut writer = encryptor.wrap_output(armor).map_err(|e| fail(&e))?;
    writer.write_all(secret).map_err(|e| fail(&e))?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|e| fail(&e))?;
    let enc = String::from_utf8(out).map_err(|e| fail(&e))?;
    Ok(MasterKey::new(
        KeyKind::Age,
        &[("recipient", recipient_str.trim()), ("enc", &enc)],
    ))
}

/// A set of age identities that can unwrap data keys.
pub struct Identities {
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl Identities {
    /// No identities yet.
    pub fn new() -> Self {
        Self {
            identities: Vec::new(),
        }
    }

    /// Parses an identities file (`AGE-SECRET-KEY-1…` lines, and `AGE-PLUGIN-…` lines with the
    /// `age-plugin` feature; `#` comments and blank lines ignored) and adds its keys. The error
    /// names the problem, never the key material.
    pub fn add_identity_file(&mut self, contents: &[u8]) -> Result<usize, String> {
        let file = age::IdentityFile::from_buffer(contents)
            .map_err(|e| format!("failed to parse age identities: {}", redact(&e.to_string())))?;
        let ids = file
            .into_identities()
            .map_err(|e| format!("failed to load age identities: {}", redact(&e.to_string())))?;
        let n = ids.len();
        self.identities.extend(ids);
        Ok(n)
    }

    /// Adds an unencrypted SSH private key (ssh-ed25519 or ssh-rsa) as an identity.
    pub fn add_ssh_key(&mut self, contents: &[u8], filename: Option<String>) -> Result<(), String> {
        let id = age::ssh::Identity::from_buffer(contents, filename).map_err(|e| {
            format!(
                "failed to parse SSH private key: {}",
                redact(&e.to_string())
            )
        })?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.identities.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => Err(
                "passphrase-protected SSH keys are not supported yet; use an unencrypted key or \
                 an age key"
                    .to_owned(),
            ),
            age::ssh::Identity::Unsupported(k) => Err(format!(
                "unsupported SSH key type: {}",
                redact(&format!("{k:?}"))
            )),
        }
    }

    /// How many identities are loaded.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// Whether no identity is loaded.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }
}

impl Default for Identities {
    fn default() -> Self {
        Self::new()
    }
}

/// Error strings from parsers could quote input; keep only their first line, and never more
/// than a short prefix, so key material cannot end up in a message.
fn redact(s: &str) -> String {
    // age's localised messages wrap arguments in Unicode isolation marks; drop them.
    let s = s.replace(['\u{2068}', '\u{2069}'], "");
    let first = s.lines().next().unwrap_or("");
    if first.contains("AGE-SECRET-KEY") || first.contains("PRIVATE KEY") {
        "invalid key material".to_owned()
    } else {
        first.chars().take(120).collect()
    }
}

impl KeySource for Identities {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        (key.kind == KeyKind::Age).then(|| wrap(key, secret))
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::Age || self.identities.is_empty() {
            return None;
        }
        Some(unwrap_with(
            key,
            self.identities
                .iter()
                .map(|i| i.as_ref() as &dyn age::Identity),
        ))
    }
}

fn unwrap_with<'a>(
    key: &MasterKey,
    identities: impl Iterator<Item = &'a dyn age::Identity>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let reader = ArmoredReader::new(key.enc().as_bytes());
    let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| {
        KeyError::new(
            key,
            format!("failed to create reader for decrypting sops data key with age: {e}"),
        )
    })?;
    let mut plain = Zeroizing::new(Vec::new());
    decryptor
        .decrypt(identities)
        .map_err(|e| {
            KeyError::new(
                key,
                format!(
                    "failed to create reader for decrypting sops data key with age: {}",
                    match e {
                        age::DecryptError::NoMatchingKeys =>
                            "no identity matched any of the recipients".to_owned(),
                        other => other.to_string(),
                    }
                ),
            )
        })?
        .read_to_end(&mut plain)
        .map_err(|e| KeyError::new(key, format!("failed to read sops data key from age: {e}")))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn wrap_then_unwrap() {
        let id = age::x25519::Identity::generate();
        let recipient = id.to_public().to_string();
        let key = key_for(&recipient);
        let wrapped = wrap(&key, &[7u8; 32]).unwrap();
        let enc = wrapped.enc();
        assert!(
            enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
            "{enc}"
        );
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"), "{enc}");
        let mut ids = Identities::new();
        ids.add_identity_file(id.to_string().expose_secret().as_bytes())
            .unwrap();
        assert_eq!(&ids.unwrap(&wrapped).unwrap().unwrap()[..], &[7u8; 32]);

        let mut other = Identities::new();
        let stranger = age::x25519::Identity::generate();
        other
            .add_identity_file(stranger.to_string().expose_secret().as_bytes())
            .unwrap();
        let err = other.unwrap(&wrapped).unwrap().unwrap_err();
        assert!(err.reason.contains("no identity matched"), "{}", err.reason);
    }

    /// A syntactically valid plugin identity for a plugin that is not installed.
    #[cfg(feature = "age-plugin")]
    const PLUGIN_IDENTITY: &str = "AGE-PLUGIN-RSOPSTEST-1QQQSYQCYQ5RQWZQFPG9SCRGWPUT5PAQP";

    #[cfg(feature = "age-plugin")]
    #[test]
    fn plugin_identities_are_recognised_and_name_their_missing_plugin() {
        let mut ids = Identities::new();
        let err = ids
            .add_identity_file(PLUGIN_IDENTITY.as_bytes())
            .unwrap_err();
        assert_eq!(
            err,
            "failed to load age identities: Could not find 'age-plugin-rsopstest' on the PATH."
        );
    }

    #[cfg(not(feature = "age-plugin"))]
    #[test]
    fn plugin_identities_need_the_feature() {
        let mut ids = Identities::new();
        let line = "AGE-PLUGIN-RSOPSTEST-1QQQSYQCYQ5RQWZQFPG9SCRGWPUT5PAQP";
        assert!(ids.add_identity_file(line.as_bytes()).is_err());
    }

    #[test]
    fn bad_identity_file_error_has_no_key_material() {
        let mut ids = Identities::new();
        let err = ids
            .add_identity_file(b"AGE-SECRET-KEY-1NOTAREALKEYATALL\n")
            .unwrap_err();
        assert!(!err.contains("NOTAREALKEY"), "{err}");
    }
}

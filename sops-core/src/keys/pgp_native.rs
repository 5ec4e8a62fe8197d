//! OpenPGP master keys without the gpg binary (feature `pgp-native`), as sops' first PGP path.
//!
//! sops 3.11 tries a pure-Go OpenPGP implementation before it runs gpg: it encrypts to public
//! keys read from the legacy keyring `$GNUPGHOME/pubring.gpg` and decrypts with secret keys
//! read from `$GNUPGHOME/secring.gpg` (`GNUPGHOME` defaults to `~/.gnupg`). [`PgpNative`] does
//! the same with rPGP. Both files may hold several transferable keys, binary (the output of
//! `gpg --export` / `gpg --export-secret-keys`) or ASCII-armored.
//!
//! The source only claims keys it can find: when a keyring file is missing, or holds no key
//! whose primary or subkey fingerprint is the entry's `fp`, it answers "not mine" so the gpg
//! source is asked next. When encrypting, a key that is present but has no usable encryption
//! key (revoked, expired, no encryption flag) is also left to gpg, as sops falls back to gpg
//! on any failure of its first path. Passphrase-protected secret keys cannot be used: rsops
//! never prompts, so decryption reports that and the keyring goes on to gpg, whose agent can.

use std::io::{self, Read as _};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use pgp::armor::Dearmor;
use pgp::composed::{
    ArmorOptions, Deserializable, Message, MessageBuilder, SignedPublicKey, SignedPublicSubKey,
    SignedSecretKey,
};
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::errors::Error as PgpError;
use pgp::packet::{Packet, PacketParser, Signature, SignatureType};
use pgp::types::{EncryptionKey, Fingerprint, KeyDetails as _, Password};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::keys::env::Environment;
use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};
use crate::timestamp::Timestamp;

/// The legacy public keyring sops reads when encrypting.
const PUBRING: &str = "pubring.gpg";
/// The legacy secret keyring sops reads when decrypting.
const SECRING: &str = "secring.gpg";

/// A keyring file's path and contents.
type RingFile = (PathBuf, Zeroizing<Vec<u8>>);

/// The pure-Rust OpenPGP key source over the legacy keyring files of `GNUPGHOME`.
pub struct PgpNative {
    env: Box<dyn Environment>,
}

impl PgpNative {
    /// A source that reads `GNUPGHOME` (else `HOME`) and the keyring files through `env`.
    pub fn new(env: impl Environment + 'static) -> Self {
        Self { env: Box::new(env) }
    }

    /// `$GNUPGHOME`, else `$HOME/.gnupg` (sops' `gnuPGHome`).
    fn gnupg_home(&self) -> Option<PathBuf> {
        if let Some(home) = self.env.var("GNUPGHOME").filter(|h| !h.is_empty()) {
            return Some(PathBuf::from(home));
        }
        let home = self.env.var("HOME").filter(|h| !h.is_empty())?;
        Some(PathBuf::from(home).join(".gnupg"))
    }

    /// Reads a keyring file: `Ok(None)` if there is no home, no file, or an empty file.
    fn read_ring(&self, name: &str) -> Result<Option<RingFile>, String> {
        let Some(path) = self.gnupg_home().map(|h| h.join(name)) else {
            return Ok(None);
        };
        match self.env.read_file(&path) {
            Ok(data) if data.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(data) => Ok(Some((path, data))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!(
                "cannot read {}: {e} (check the file's permissions)",
                path.display()
            )),
        }
    }
}

impl KeySource for PgpNative {
    fn wrap(&self, key: &MasterKey, secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        if key.kind != KeyKind::Pgp {
            return None;
        }
        let fp = key.field("fp").unwrap_or("");
        let want = normalize_fingerprint(fp);
        if want.is_empty() {
            return None;
        }
        // Anything short of a usable key is left to gpg, as sops does.
        let (_, data) = self.read_ring(PUBRING).ok().flatten()?;
        let (certs, _) = parse_public(&data);
        let now = unix_now();
        let recipient = certs
            .iter()
            .filter(|c| public_matches(c, &want))
            .find_map(|c| recipient(c, &want, now))?;
        let armored = match recipient {
            Recipient::Primary(c) => encrypt_to(c, secret),
            Recipient::Subkey(s) => encrypt_to(s, secret),
        };
        Some(
            armored
                .map_err(|e| {
                    KeyError::new(
                        key,
                        format!(
                            "could not encrypt data key with PGP key: rsops' built-in OpenPGP \
                             failed: {e}"
                        ),
                    )
                })
                .map(|armored| {
                    // sops trims the armored output, hence `enc: |-` in YAML.
                    let enc = armored.trim();
                    let created = Timestamp::now_utc().to_rfc3339();
                    MasterKey::new(
                        KeyKind::Pgp,
                        &[("created_at", &created), ("enc", enc), ("fp", fp)],
                    )
                }),
        )
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        if key.kind != KeyKind::Pgp {
            return None;
        }
        let want = normalize_fingerprint(key.field("fp").unwrap_or(""));
        if want.is_empty() {
            return None;
        }
        let fail = |reason: String| {
            Some(Err(KeyError::new(
                key,
                format!("could not decrypt data key with PGP key: {reason}"),
            )))
        };
        let (path, data) = match self.read_ring(SECRING) {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            Err(e) => return fail(e),
        };
        let (keys, parse_error) = parse_secret(&data);
        let mine: Vec<&SignedSecretKey> =
            keys.iter().filter(|k| secret_matches(k, &want)).collect();
        if mine.is_empty() {
            return match parse_error {
                Some(e) if keys.is_empty() => fail(format!(
                    "cannot read the secret keys in {}: {e} (rsops reads binary or armored \
                     OpenPGP keys, as `gpg --export-secret-keys` writes them)",
                    path.display()
                )),
                _ => None,
            };
        }
        Some(decrypt(&mine, key.enc()).map_err(|failure| {
            let reason = match failure {
                Failure::Passphrase => format!(
                    "the secret key in {} is protected by a passphrase, and rsops' built-in \
                     OpenPGP cannot ask for one; gpg is tried instead (install it, or set \
                     SOPS_GPG_EXEC), and its agent can prompt",
                    path.display()
                ),
                Failure::Other(detail) => format!(
                    "rsops' built-in OpenPGP could not decrypt it with the key in {}: {detail}",
                    path.display()
                ),
            };
            KeyError::new(
                key,
                format!("could not decrypt data key with PGP key: {reason}"),
            )
        }))
    }
}

/// The key the data key is encrypted to.
enum Recipient<'a> {
    Primary(&'a SignedPublicKey),
    Subkey(&'a SignedPublicSubKey),
}

/// Why decryption failed (never holds secret material).
enum Failure {
    Passphrase,
    Other(String),
}

/// `fp` without spaces, a `0x` prefix or gpg's trailing `!`, in upper case.
fn normalize_fingerprint(fp: &str) -> String {
    let compact: String = fp.chars().filter(|c| !c.is_whitespace()).collect();
    let bare = compact.trim_end_matches('!');
    let bare = bare
        .strip_prefix("0x")
        .or_else(|| bare.strip_prefix("0X"))
        .unwrap_or(bare);
    bare.to_ascii_uppercase()
}

fn hex(fp: &Fingerprint) -> String {
    format!("{fp:X}")
}

fn public_matches(cert: &SignedPublicKey, want: &str) -> bool {
    hex(&cert.fingerprint()) == want
        || cert
            .public_subkeys
            .iter()
            .any(|s| hex(&s.key.fingerprint()) == want)
}

fn secret_matches(key: &SignedSecretKey, want: &str) -> bool {
    hex(&key.primary_key.fingerprint()) == want
        || key
            .secret_subkeys
            .iter()
            .any(|s| hex(&s.key.fingerprint()) == want)
        || key
            .public_subkeys
            .iter()
            .any(|s| hex(&s.key.fingerprint()) == want)
}

/// Keyring bytes as binary OpenPGP: binary input as is, every armored block dearmored.
fn to_binary(data: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        return Ok(Zeroizing::new(data.to_vec()));
    }
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let starts: Vec<usize> = (0..data.len())
        .filter(|&i| (i == 0 || data[i - 1] == b'\n') && data[i..].starts_with(BEGIN))
        .collect();
    if starts.is_empty() {
        return Err("neither binary OpenPGP data nor ASCII armor".to_owned());
    }
    // Binary is shorter than its armor, so the buffer never reallocates (no stray copies).
    let mut out = Zeroizing::new(Vec::with_capacity(data.len()));
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(data.len());
        Dearmor::new(&data[start..end])
            .read_to_end(&mut out)
            .map_err(|e| format!("bad ASCII armor: {e}"))?;
    }
    Ok(out)
}

/// The packets of a keyring, without what a transferable key cannot hold: gpg 1.x keyrings
/// interleave trust packets, and rPGP's own readers skip marker, padding and unsupported
/// packets the same way.
fn key_packets(binary: &[u8]) -> impl Iterator<Item = pgp::errors::Result<Packet>> + '_ {
    PacketParser::new(binary).filter(|p| match p {
        Ok(Packet::Trust(_) | Packet::Marker(_) | Packet::Padding(_)) => false,
        Ok(_) => true,
        Err(PgpError::Unsupported { .. } | PgpError::PacketIncomplete { .. }) => false,
        Err(PgpError::InvalidPacketContent { source }) => !matches!(
            **source,
            PgpError::Unsupported { .. } | PgpError::EllipticCurve { .. }
        ),
        Err(_) => true,
    })
}

/// Every key that parses, and the first error (keys that do not parse are skipped).
fn parse_keys<T: Deserializable>(data: &[u8]) -> (Vec<T>, Option<String>) {
    let binary = match to_binary(data) {
        Ok(b) => b,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut keys = Vec::new();
    let mut first_error = None;
    for parsed in T::from_packets(key_packets(&binary).peekable()) {
        match parsed {
            Ok(k) => keys.push(k),
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (keys, first_error)
}

fn parse_public(data: &[u8]) -> (Vec<SignedPublicKey>, Option<String>) {
    parse_keys(data)
}

fn parse_secret(data: &[u8]) -> (Vec<SignedSecretKey>, Option<String>) {
    parse_keys(data)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn created(sig: &Signature) -> u32 {
    sig.created().map_or(0, |t| t.as_secs())
}

/// Whether a component created at `created` has expired by `now`, given the expiration
/// (seconds after creation, 0 or absent for never) of its newest self-signature.
fn expired(created: u32, sig: &Signature, now: u64) -> bool {
    match sig.key_expiration_time().map(|d| d.as_secs()) {
        Some(secs) if secs > 0 => u64::from(created) + u64::from(secs) <= now,
        _ => false,
    }
}

fn can_encrypt(sig: &Signature) -> bool {
    let flags = sig.key_flags();
    flags.encrypt_comms() || flags.encrypt_storage()
}

/// The primary key's newest self-signature (direct or on a user ID), issued by itself.
fn newest_self_signature(cert: &SignedPublicKey) -> Option<&Signature> {
    let fp = cert.fingerprint();
    let id = cert.legacy_key_id();
    cert.details
        .direct_signatures
        .iter()
        .chain(cert.details.users.iter().flat_map(|u| u.signatures.iter()))
        .filter(|s| s.issuer_fingerprint().contains(&&fp) || s.issuer_key_id().contains(&&id))
        .max_by_key(|s| created(s))
}

/// A subkey that may receive data: encryption algorithm and flag, a valid binding, neither
/// revoked nor expired.
fn subkey_usable(cert: &SignedPublicKey, sub: &SignedPublicSubKey, now: u64) -> bool {
    if !sub.key.algorithm().can_encrypt()
        || sub
            .signatures
            .iter()
            .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
    {
        return false;
    }
    let Some(binding) = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|s| created(s))
    else {
        return false;
    };
    can_encrypt(binding)
        && !expired(sub.key.created_at().as_secs(), binding, now)
        && binding
            .verify_subkey_binding(&cert.primary_key, &sub.key)
            .is_ok()
}

/// Where to encrypt for `cert`: the subkey `want` names if it can take it, else the newest
/// usable encryption subkey, else the primary key if it is an encryption key.
fn recipient<'a>(cert: &'a SignedPublicKey, want: &str, now: u64) -> Option<Recipient<'a>> {
    if !cert.details.revocation_signatures.is_empty() {
        return None;
    }
    let self_sig = newest_self_signature(cert);
    if self_sig.is_some_and(|s| expired(cert.created_at().as_secs(), s, now)) {
        return None;
    }
    let usable = |s: &&SignedPublicSubKey| subkey_usable(cert, s, now);
    if let Some(named) = cert
        .public_subkeys
        .iter()
        .filter(usable)
        .find(|s| hex(&s.key.fingerprint()) == want)
    {
        return Some(Recipient::Subkey(named));
    }
    if let Some(newest) = cert
        .public_subkeys
        .iter()
        .filter(usable)
        .max_by_key(|s| s.key.created_at().as_secs())
    {
        return Some(Recipient::Subkey(newest));
    }
    (cert.algorithm().can_encrypt() && self_sig.is_some_and(can_encrypt))
        .then_some(Recipient::Primary(cert))
}

/// An armored SEIPD (MDC) message holding `secret` as binary literal data, uncompressed, as
/// sops' first path writes it.
fn encrypt_to(recipient: &impl EncryptionKey, secret: &[u8]) -> pgp::errors::Result<String> {
    let mut builder =
        MessageBuilder::from_reader("", secret).seipd_v1(OsRng, SymmetricKeyAlgorithm::AES256);
    builder.encrypt_to_key(OsRng, recipient)?;
    builder.to_armored_string(OsRng, ArmorOptions::default())
}

/// Decrypts the armored `enc` with any of `keys` (gpg's output may be compressed).
fn decrypt(keys: &[&SignedSecretKey], enc: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let (message, _) = Message::from_armor(enc.trim().as_bytes()).map_err(|e| {
        Failure::Other(format!(
            "the enc field is not an ASCII-armored OpenPGP message: {e}"
        ))
    })?;
    let password = Password::empty();
    let passwords = vec![&password; keys.len()];
    let mut plain = match message.decrypt_with_keys(passwords, keys.to_vec()) {
        Ok(plain) => plain,
        Err(_) if keys.iter().any(|k| protected(k)) => return Err(Failure::Passphrase),
        Err(e) => {
            return Err(Failure::Other(format!(
                "{e} (is the data key encrypted to another key?)"
            )));
        }
    };
    if plain.is_compressed() {
        plain = plain
            .decompress()
            .map_err(|e| Failure::Other(format!("cannot decompress the message: {e}")))?;
    }
    let mut out = Zeroizing::new(Vec::new());
    plain
        .read_to_end(&mut out)
        .map_err(|e| Failure::Other(format!("cannot read the decrypted message: {e}")))?;
    Ok(out)
}

/// Whether an encryption-capable part of the key is locked with a passphrase.
fn protected(key: &SignedSecretKey) -> bool {
    (key.primary_key.algorithm().can_encrypt() && key.primary_key.secret_params().is_encrypted())
        || key
            .secret_subkeys
            .iter()
            .any(|s| s.key.algorithm().can_encrypt() && s.key.secret_params().is_encrypted())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use pgp::ser::Serialize as _;

    use super::*;
    use crate::keys::env::FakeEnv;

    fn corpus(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/corpus")
            .join(rel)
    }

    fn read(rel: &str) -> Vec<u8> {
        std::fs::read(corpus(rel)).unwrap()
    }

    fn fpr() -> String {
        String::from_utf8(read("keys/pgp.fpr"))
            .unwrap()
            .trim()
            .to_owned()
    }

    fn dearmor(armored: &[u8]) -> Vec<u8> {
        to_binary(armored).unwrap().to_vec()
    }

    /// `GNUPGHOME=/gnupg` with the given keyring files.
    fn home(pubring: Option<Vec<u8>>, secring: Option<Vec<u8>>) -> FakeEnv {
        let mut env = FakeEnv::default();
        env.set("GNUPGHOME", "/gnupg");
        if let Some(p) = pubring {
            env.file("/gnupg/pubring.gpg", p);
        }
        if let Some(s) = secring {
            env.file("/gnupg/secring.gpg", s);
        }
        env
    }

    fn pgp_key(fp: &str) -> MasterKey {
        MasterKey::new(KeyKind::Pgp, &[("fp", fp)])
    }

    fn both_armored() -> PgpNative {
        PgpNative::new(home(
            Some(read("keys/pgp-public.asc")),
            Some(read("keys/pgp-secret.asc")),
        ))
    }

    #[test]
    fn wrap_then_unwrap_round_trip() {
        let source = both_armored();
        let secret = [7u8; 32];
        let wrapped = source.wrap(&pgp_key(&fpr()), &secret).unwrap().unwrap();
        let plain = source.unwrap(&wrapped).unwrap().unwrap();
        assert_eq!(&plain[..], &secret[..]);
    }

    #[test]
    fn binary_keyrings_with_several_keys_and_the_default_home() {
        // Two copies of each key, concatenated, as `gpg --export` writes several keys.
        let public = dearmor(&read("keys/pgp-public.asc")).repeat(2);
        let secret = dearmor(&read("keys/pgp-secret.asc")).repeat(2);
        assert!(public[0] & 0x80 != 0 && secret[0] & 0x80 != 0);
        let mut env = FakeEnv::default();
        env.set("HOME", "/home/u")
            .file("/home/u/.gnupg/pubring.gpg", public)
            .file("/home/u/.gnupg/secring.gpg", secret);
        let source = PgpNative::new(env);
        let data_key = [42u8; 32];
        // Lower case with spaces, as people write fingerprints, still names the key.
        let spaced = fpr()
            .to_lowercase()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        let wrapped = source.wrap(&pgp_key(&spaced), &data_key).unwrap().unwrap();
        assert_eq!(wrapped.field("fp"), Some(spaced.as_str()));
        let plain = source.unwrap(&wrapped).unwrap().unwrap();
        assert_eq!(&plain[..], &data_key[..]);
    }

    #[test]
    fn unknown_fingerprint_is_not_mine() {
        let source = both_armored();
        let other = pgp_key("0123456789ABCDEF0123456789ABCDEF01234567");
        assert!(source.wrap(&other, &[1; 32]).is_none());
        let mut wrapped = source.wrap(&pgp_key(&fpr()), &[1; 32]).unwrap().unwrap();
        wrapped.set_field("fp", "0123456789ABCDEF0123456789ABCDEF01234567".to_owned());
        assert!(source.unwrap(&wrapped).is_none());
        assert!(source.unwrap(&pgp_key("")).is_none());
        let age = MasterKey::new(KeyKind::Age, &[("recipient", "age1x")]);
        assert!(source.wrap(&age, &[1; 32]).is_none());
        assert!(source.unwrap(&age).is_none());
    }

    #[test]
    fn missing_files_are_not_mine() {
        let wrapped = both_armored()
            .wrap(&pgp_key(&fpr()), &[3; 32])
            .unwrap()
            .unwrap();
        let empty = PgpNative::new(home(None, None));
        assert!(empty.wrap(&pgp_key(&fpr()), &[3; 32]).is_none());
        assert!(empty.unwrap(&wrapped).is_none());
        // No GNUPGHOME and no HOME: nowhere to look.
        let nowhere = PgpNative::new(FakeEnv::default());
        assert!(nowhere.wrap(&pgp_key(&fpr()), &[3; 32]).is_none());
        assert!(nowhere.unwrap(&wrapped).is_none());
    }

    #[test]
    fn output_is_trimmed_armor_in_sops_field_order() {
        let wrapped = both_armored()
            .wrap(&pgp_key(&fpr()), &[9; 32])
            .unwrap()
            .unwrap();
        let enc = wrapped.enc();
        assert!(enc.starts_with("-----BEGIN PGP MESSAGE-----\n"), "{enc}");
        assert!(enc.ends_with("-----END PGP MESSAGE-----"), "{enc}");
        assert!(!enc.ends_with('\n'));
        let created = wrapped.field("created_at").unwrap();
        assert!(Timestamp::parse_rfc3339(created).is_ok(), "{created}");
        let rebuilt = MasterKey::new(
            KeyKind::Pgp,
            &[("created_at", created), ("enc", enc), ("fp", &fpr())],
        );
        assert_eq!(
            wrapped, rebuilt,
            "fields in sops' order: created_at, enc, fp"
        );
    }

    #[test]
    fn encrypts_to_the_encryption_subkey() {
        let wrapped = both_armored()
            .wrap(&pgp_key(&fpr()), &[5; 32])
            .unwrap()
            .unwrap();
        let (certs, _) = parse_public(&read("keys/pgp-public.asc"));
        let sub = certs[0].public_subkeys[0].key.legacy_key_id();
        let (message, _) = Message::from_armor(wrapped.enc().as_bytes()).unwrap();
        let Message::Encrypted { esk, .. } = &message else {
            panic!("not an encrypted message")
        };
        let ids: Vec<String> = esk
            .iter()
            .filter_map(|e| match e {
                pgp::composed::Esk::PublicKeyEncryptedSessionKey(p) => {
                    p.id().ok().map(|id| format!("{id:?}"))
                }
                _ => None,
            })
            .collect();
        assert_eq!(ids, [format!("{sub:?}")]);
    }

    #[test]
    fn a_subkey_fingerprint_names_the_key() {
        let (certs, _) = parse_public(&read("keys/pgp-public.asc"));
        let sub_fp = hex(&certs[0].public_subkeys[0].key.fingerprint());
        let source = both_armored();
        let wrapped = source.wrap(&pgp_key(&sub_fp), &[6; 32]).unwrap().unwrap();
        assert_eq!(wrapped.field("fp"), Some(sub_fp.as_str()));
        assert_eq!(&source.unwrap(&wrapped).unwrap().unwrap()[..], &[6; 32]);
    }

    #[test]
    fn decrypts_what_gpg_wrote_for_sops() {
        // The corpus file was written by sops 3.11 through gpg (a compressed message).
        let text = String::from_utf8(read("cases/pgp/enc/pgp.yaml")).unwrap();
        let enc: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with("-----BEGIN PGP MESSAGE-----"))
            .take_while(|l| !l.starts_with("fp:"))
            .collect::<Vec<_>>()
            .join("\n");
        let key = MasterKey::new(KeyKind::Pgp, &[("enc", &enc), ("fp", &fpr())]);
        let plain = both_armored().unwrap(&key).unwrap().unwrap();
        assert_eq!(plain.len(), 32);
    }

    #[test]
    fn passphrase_protected_keys_are_reported() {
        let (mut keys, _) = parse_secret(&read("keys/pgp-secret.asc"));
        let mut locked = keys.remove(0);
        let pw = Password::from("correct horse");
        locked.primary_key.set_password(OsRng, &pw).unwrap();
        for sub in &mut locked.secret_subkeys {
            sub.key.set_password(OsRng, &pw).unwrap();
        }
        let source = PgpNative::new(home(
            Some(read("keys/pgp-public.asc")),
            Some(locked.to_bytes().unwrap()),
        ));
        let wrapped = source.wrap(&pgp_key(&fpr()), &[8; 32]).unwrap().unwrap();
        let Some(Err(err)) = source.unwrap(&wrapped) else {
            panic!("a locked key must be reported as failing")
        };
        assert!(err.reason.contains("passphrase"), "{}", err.reason);
        assert!(err.reason.contains("/gnupg/secring.gpg"), "{}", err.reason);
        assert!(!err.reason.contains("correct horse"));
    }

    #[test]
    fn unreadable_secret_keyring_is_an_error() {
        let source = PgpNative::new(home(None, Some(b"not a keyring".to_vec())));
        let wrapped = both_armored()
            .wrap(&pgp_key(&fpr()), &[2; 32])
            .unwrap()
            .unwrap();
        let Some(Err(err)) = source.unwrap(&wrapped) else {
            panic!("garbage in secring.gpg must be reported")
        };
        assert!(err.reason.contains("secring.gpg"), "{}", err.reason);
    }

    #[test]
    fn fingerprints_are_normalized() {
        assert_eq!(normalize_fingerprint(" 0xab cd! "), "ABCD");
        assert_eq!(normalize_fingerprint(""), "");
    }
}

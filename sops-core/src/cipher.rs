//! The value codec: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM with 32-byte IVs.
//!
//! Mirrors sops' `aes/cipher.go`. The plaintext of a typed value is its canonical rendering
//! ([`plaintext_bytes`]), which is also what the MAC hashes.

use aes_gcm::aead::consts::U32;
use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::data_key::DataKey;
use crate::timestamp::Timestamp;
use crate::tree::Value;

/// AES-256-GCM with sops' 32-byte nonce (inherited from the original Python sops).
type SopsGcm = AesGcm<Aes256, U32>;

/// Length of the IV sops writes.
pub const IV_LEN: usize = 32;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;

/// The longest ciphertext [`ValueCipher::decrypt_reusing`] decrypts in the value's own buffer
/// (it is decoded on the stack first).
pub const REUSE_MAX: usize = 768;

/// A value could not be encrypted or decrypted.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The string is not in sops' `ENC[AES256_GCM,...]` format.
    #[error("the value does not match sops' data format ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]")]
    NotEncrypted,
    /// A base64 field of the value is malformed.
    #[error("the {field} field of the encrypted value is not valid base64")]
    BadBase64 {
        /// `data`, `iv` or `tag`.
        field: &'static str,
    },
    /// Authentication failed: wrong data key, tampered value, or the value was moved to another
    /// key path (the path is part of the authenticated data).
    #[error("message authentication failed (wrong data key, tampered value, or moved value)")]
    Authentication,
    /// The value decrypted, but its plaintext does not parse as its declared type.
    #[error("the decrypted value is not a valid {datatype}")]
    BadPlaintext {
        /// The declared type.
        datatype: &'static str,
    },
    /// The declared type is not one sops knows.
    #[error("unknown datatype: {0}")]
    UnknownType(String),
    /// This value kind cannot be encrypted (mappings and sequences are walked, not encrypted).
    #[error("a {0} cannot be encrypted as a single value")]
    Unencryptable(&'static str),
}

/// The parsed parts of an `ENC[...]` string.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct EncryptedValue {
    /// Ciphertext without the tag.
    pub data: Vec<u8>,
    /// The IV (any length is accepted when decrypting).
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag.
    pub tag: Vec<u8>,
    /// The declared plaintext type (`str`, `int`, `float`, `bool`, `time`, `comment`, `bytes`).
    pub datatype: String,
}

impl EncryptedValue {
    /// Parses sops' format. Like Go's `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`
    /// (greedy, anchored at the start only), text after the final `]` is tolerated.
    pub fn parse(s: &str) -> Result<Self, CipherError> {
        let p = Parts::split(s)?;
        Ok(Self {
            data: b64_decode(p.data, "data")?,
            iv: b64_decode(p.iv, "iv")?,
            tag: b64_decode(p.tag, "tag")?,
            datatype: p.datatype.to_owned(),
        })
    }

    /// Formats exactly as sops does.
    pub fn to_sops_string(&self) -> String {
        format_parts(&self.data, &self.iv, &self.tag, &self.datatype)
    }
}

/// Whether `s` has the shape of an `ENC[...]` value (decodable parts; the key is not checked).
pub fn looks_encrypted(s: &str) -> bool {
    EncryptedValue::parse(s).is_ok()
}

/// The undecoded fields of an `ENC[...]` string.
struct Parts<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    datatype: &'a str,
}

impl<'a> Parts<'a> {
    /// Like Go's `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]` (greedy, anchored
    /// at the start only): each group takes the last possible separator, and text after the
    /// final `]` is tolerated.
    fn split(s: &'a str) -> Result<Self, CipherError> {
        let rest = s
            .strip_prefix("ENC[AES256_GCM,data:")
            .ok_or(CipherError::NotEncrypted)?;
        // What sops writes ends with the `]`.
        let close = if rest.ends_with(']') {
            rest.len() - 1
        } else {
            rest.rfind(']').ok_or(CipherError::NotEncrypted)?
        };
        let body = &rest[..close];
        let type_at = rfind_separator(body, b",type:", None).ok_or(CipherError::NotEncrypted)?;
        let datatype = &body[type_at + 6..];
        let body = &body[..type_at];
        let tag_at = rfind_separator(body, b",tag:", Some(24)).ok_or(CipherError::NotEncrypted)?;
        let tag = &body[tag_at + 5..];
        let body = &body[..tag_at];
        let iv_at = rfind_separator(body, b",iv:", Some(44)).ok_or(CipherError::NotEncrypted)?;
        let iv = &body[iv_at + 4..];
        let data = &body[..iv_at];
        if data.is_empty() || iv.is_empty() || tag.is_empty() || datatype.is_empty() {
            return Err(CipherError::NotEncrypted);
        }
        Ok(Self {
            data,
            iv,
            tag,
            datatype,
        })
    }
}

/// The last occurrence of `needle`, a separator starting with `,`, in `hay`. In what sops
/// writes it starts at the last comma, which a byte search finds at once (base64 has no
/// commas); otherwise the backward scan decides.
///
/// `field_len` is the length sops' own field has after the separator (the base64 of a 32-byte
/// IV or a 16-byte tag): where the separator sits right there, no scan is needed.
fn rfind_separator(hay: &str, needle: &[u8], field_len: Option<usize>) -> Option<usize> {
    if let Some(at) = field_len.and_then(|n| hay.len().checked_sub(n + needle.len()))
        && hay.as_bytes()[at..].starts_with(needle)
        && !hay.as_bytes()[at + 1..].contains(&b',')
    {
        return Some(at);
    }
    // A plain loop: the comma is a few dozen bytes from the end, where `memrchr`'s set-up
    // cost more than the scan.
    let last_comma = hay.bytes().rposition(|b| b == b',')?;
    if hay.as_bytes()[last_comma..].starts_with(needle) {
        Some(last_comma)
    } else {
        rfind(&hay[..last_comma], needle)
    }
}

/// The last occurrence of a short ASCII `needle` in `hay`. The separators sit near the end of
/// a value, so a backward scan beats `str::rfind`'s searcher set-up, which dominated here.
fn rfind(hay: &str, needle: &[u8]) -> Option<usize> {
    let h = hay.as_bytes();
    let last = needle.len().checked_sub(1)?;
    let mut i = h.len().checked_sub(last + 1)?;
    loop {
        if h[i + last] == needle[last] && &h[i..=i + last] == needle {
            return Some(i);
        }
        i = i.checked_sub(1)?;
    }
}

/// Go's `base64.StdEncoding` decoder skips `\r` and `\n`; otherwise it is strict.
///
/// `STANDARD` refuses both, so a field holding one fails the first try and is decoded again
/// without them; the common case looks at the text once.
fn b64_decode(s: &str, field: &'static str) -> Result<Vec<u8>, CipherError> {
    let bad = |_| CipherError::BadBase64 { field };
    match STANDARD.decode(s) {
        Ok(bytes) => Ok(bytes),
        Err(_) if s.contains(['\r', '\n']) => {
            STANDARD.decode(s.replace(['\r', '\n'], "")).map_err(bad)
        }
        Err(e) => Err(bad(e)),
    }
}

/// The sops type name of a plaintext value.
pub fn datatype_of(value: &Value) -> Result<&'static str, CipherError> {
    Ok(match value {
        Value::Str(_) | Value::Bytes(_) => "str",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Bool(_) => "bool",
        Value::Time(_) => "time",
        Value::Comment(_) => "comment",
        other => return Err(CipherError::Unencryptable(other.kind_name())),
    })
}

/// The canonical plaintext bytes of a scalar (`sops.go: ToBytes`), used both inside `ENC[...]`
/// and for the MAC. `None` for values that have no byte form (null, mappings, sequences).
pub fn plaintext_bytes(value: &Value) -> Option<Zeroizing<Vec<u8>>> {
    plaintext(value).map(|p| Zeroizing::new(p.to_vec()))
}

/// A scalar's canonical bytes: borrowed for strings, rendered (and wiped on drop) otherwise.
pub(crate) enum Plain<'a> {
    /// String content, borrowed from the tree.
    Borrowed(&'a [u8]),
    /// A rendered number, boolean or time.
    Owned(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for Plain<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Self::Borrowed(b) => b,
            Self::Owned(v) => v,
        }
    }
}

/// [`plaintext_bytes`] without copying strings.
pub(crate) fn plaintext(value: &Value) -> Option<Plain<'_>> {
    Some(match value {
        Value::Str(s) | Value::Comment(s) => Plain::Borrowed(s.as_bytes()),
        Value::Bytes(b) => Plain::Borrowed(b),
        other => Plain::Owned(Zeroizing::new(rendered(other)?)),
    })
}

fn rendered(value: &Value) -> Option<Vec<u8>> {
    Some(match value {
        Value::Str(_) | Value::Comment(_) | Value::Bytes(_) => return None,
        Value::Int(i) => i.to_string().into_bytes(),
        Value::Float(f) => format_float_f(*f).into_bytes(),
        // Python heritage: sops writes booleans Title-case.
        Value::Bool(true) => b"True".to_vec(),
        Value::Bool(false) => b"False".to_vec(),
        Value::Time(t) => t.to_rfc3339_nano().into_bytes(),
        Value::Null | Value::Map(_) | Value::List(_) => return None,
    })
}

/// Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Rust's Display for f64 is the shortest round-trip form without exponent, as Go's 'f'/-1.
        format!("{f}")
    }
}

/// AES-256-GCM keyed once with a file's data key, for encrypting and decrypting many values.
pub struct ValueCipher {
    gcm: SopsGcm,
    key: DataKey,
    ivs: crate::random::Pool,
    /// Where each value is encrypted in place (plaintext, then ciphertext); wiped on drop.
    buf: Zeroizing<Vec<u8>>,
}

impl ValueCipher {
    /// Prepares the cipher for `key` (the key schedule is computed once).
    pub fn new(key: &DataKey) -> Self {
        Self {
            gcm: SopsGcm::new(key.as_bytes().into()),
            key: key.duplicate(),
            ivs: crate::random::Pool::new(),
            buf: Zeroizing::new(Vec::new()),
        }
    }

    /// Encrypts one scalar with `aad`; see [`encrypt_value`].
    pub fn encrypt(
        &mut self,
        value: &Value,
        aad: &str,
        iv: Option<&[u8]>,
    ) -> Result<String, CipherError> {
        let datatype = datatype_of(value)?;
        let plain = plaintext(value).ok_or(CipherError::Unencryptable(value.kind_name()))?;
        if plain.is_empty() && matches!(value, Value::Str(_) | Value::Bytes(_) | Value::Comment(_))
        {
            return Ok(String::new());
        }
        let fresh;
        let iv = match iv {
            Some(iv) if iv.len() == IV_LEN => iv,
            _ => {
                fresh = self.ivs.take::<IV_LEN>();
                &fresh[..]
            }
        };
        self.buf.clear();
        if self.buf.capacity() < plain.len() {
            // A fresh buffer rather than a reallocation, which would free an unwiped copy.
            self.buf = Zeroizing::new(Vec::with_capacity(plain.len()));
        }
        self.buf.extend_from_slice(&plain);
        let tag = self
            .gcm
            .encrypt_in_place_detached(Nonce::<U32>::from_slice(iv), aad.as_bytes(), &mut self.buf)
            .map_err(|_| CipherError::Authentication)?;
        Ok(format_parts(&self.buf, iv, &tag, datatype))
    }

    /// Decrypts the `ENC[...]` string `enc` to its value, like [`decrypt`](Self::decrypt)
    /// without the IV. A string as sops writes it (`type:str`, 32-byte IV, 16-byte tag, up
    /// to [`REUSE_MAX`] bytes of ciphertext) is decrypted in `enc`'s own buffer, which
    /// becomes the plaintext string: no allocation, and no ciphertext string to free. `enc`
    /// is then left empty, also when that value fails to authenticate (the error is the
    /// same). Anything else, and any field that does not decode strictly, goes the way of
    /// [`decrypt`](Self::decrypt), which reports it as sops does.
    pub fn decrypt_reusing(&self, enc: &mut String, aad: &str) -> Result<Value, CipherError> {
        let mut ct = [0u8; REUSE_MAX + 3];
        let mut iv = [0u8; IV_LEN + 1];
        let mut tag = [0u8; TAG_LEN + 2];
        let decoded = match Parts::split(enc) {
            Ok(p)
                if p.datatype == "str"
                    && p.iv.len() == 44
                    && p.tag.len() == 24
                    && p.data.len() <= REUSE_MAX / 3 * 4 =>
            {
                match (
                    STANDARD.decode_slice(p.data, &mut ct),
                    STANDARD.decode_slice(p.iv, &mut iv),
                    STANDARD.decode_slice(p.tag, &mut tag),
                ) {
                    (Ok(n), Ok(IV_LEN), Ok(TAG_LEN)) => Some(n),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(n) = decoded else {
            return self.decrypt(enc, aad).map(|d| d.value);
        };
        let mut buf = std::mem::take(enc).into_bytes();
        buf.clear();
        // Base64 text is longer than what it decodes to: this fits without reallocating.
        buf.extend_from_slice(&ct[..n]);
        // On failure the buffer still holds the ciphertext (the tag is checked first).
        self.gcm
            .decrypt_in_place_detached(
                Nonce::<U32>::from_slice(&iv[..IV_LEN]),
                aad.as_bytes(),
                &mut buf,
                Tag::from_slice(&tag[..TAG_LEN]),
            )
            .map_err(|_| CipherError::Authentication)?;
        // sops' `str`: UTF-8 text; anything else is kept as a byte string (as `typed_value`).
        Ok(match String::from_utf8(buf) {
            Ok(text) => Value::Str(text),
            Err(e) => Value::Bytes(e.into_bytes()),
        })
    }

    /// Decrypts one `ENC[...]` string; see [`decrypt_value`].
    pub fn decrypt(&self, s: &str, aad: &str) -> Result<Decrypted, CipherError> {
        if s.is_empty() {
            return Ok(Decrypted {
                value: Value::Str(String::new()),
                iv: Vec::new(),
            });
        }
        let p = Parts::split(s)?;
        // Fast path for what sops writes (32-byte IV, 16-byte tag): decode the ciphertext and
        // the tag into one buffer, in place. Line breaks, which Go's decoder skips, fail the
        // strict decoding here and so take the general way too.
        if p.iv.len() == 44 && p.tag.len() == 24 {
            let mut iv = [0u8; IV_LEN + 1];
            let mut tag = [0u8; TAG_LEN + 2];
            let mut msg = Zeroizing::new(Vec::with_capacity(p.data.len() * 3 / 4 + 3));
            // Anything unusual (bad base64, other lengths) goes the general way below, which
            // reports it as sops does.
            let decoded = STANDARD.decode_vec(p.data, &mut msg).is_ok()
                && matches!(STANDARD.decode_slice(p.iv, &mut iv), Ok(IV_LEN))
                && matches!(STANDARD.decode_slice(p.tag, &mut tag), Ok(TAG_LEN));
            if decoded {
                // Decrypted in place: the buffer becomes the value's string without a copy.
                self.gcm
                    .decrypt_in_place_detached(
                        Nonce::<U32>::from_slice(&iv[..IV_LEN]),
                        aad.as_bytes(),
                        &mut msg,
                        Tag::from_slice(&tag[..TAG_LEN]),
                    )
                    .map_err(|_| CipherError::Authentication)?;
                let value = typed_value(msg, p.datatype)?;
                return Ok(Decrypted {
                    value,
                    iv: iv[..IV_LEN].to_vec(),
                });
            }
        }
        let enc = EncryptedValue::parse(s)?;
        let plain = open(&enc, &self.key, aad)?;
        let value = typed_value(plain, &enc.datatype)?;
        Ok(Decrypted { value, iv: enc.iv })
    }
}

/// `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` built in one buffer of the exact size.
fn format_parts(data: &[u8], iv: &[u8], tag: &[u8], datatype: &str) -> String {
    let b64 = |n: usize| n.div_ceil(3) * 4;
    let size = "ENC[AES256_GCM,data:,iv:,tag:,type:]".len()
        + b64(data.len())
        + b64(iv.len())
        + b64(tag.len())
        + datatype.len();
    let mut out = vec![0u8; size];
    let mut at = 0;
    for (label, field) in [
        (&b"ENC[AES256_GCM,data:"[..], data),
        (b",iv:", iv),
        (b",tag:", tag),
    ] {
        out[at..at + label.len()].copy_from_slice(label);
        at += label.len();
        // The rest of the buffer is at least the padded length, so this cannot fail.
        at += STANDARD.encode_slice(field, &mut out[at..]).unwrap_or(0);
    }
    for part in [&b",type:"[..], datatype.as_bytes(), b"]"] {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    // Base64 and the labels are ASCII and the type came from a `&str`.
    String::from_utf8(out).unwrap_or_default()
}

/// Encrypts one scalar with `aad` (the key path joined by `:` plus a trailing `:`).
///
/// Empty strings and empty comments are not encrypted (sops returns `""`). `iv` reuses a
/// previous IV (the stash); `None` draws a fresh random one.
pub fn encrypt_value(
    value: &Value,
    key: &DataKey,
    aad: &str,
    iv: Option<&[u8]>,
) -> Result<String, CipherError> {
    let datatype = datatype_of(value)?;
    let plaintext = plaintext_bytes(value).ok_or(CipherError::Unencryptable(value.kind_name()))?;
    if plaintext.is_empty() && matches!(value, Value::Str(_) | Value::Bytes(_) | Value::Comment(_))
    {
        return Ok(String::new());
    }
    let iv = match iv {
        Some(iv) => iv.to_vec(),
        None => crate::random::bytes::<IV_LEN>().to_vec(),
    };
    Ok(seal(&plaintext, key, aad, &iv, datatype)?.to_sops_string())
}

/// Encrypts raw bytes as one value of the given type with an explicit IV.
pub(crate) fn seal(
    plaintext: &[u8],
    key: &DataKey,
    aad: &str,
    iv: &[u8],
    datatype: &str,
) -> Result<EncryptedValue, CipherError> {
    if iv.len() != IV_LEN {
        return Err(CipherError::Authentication);
    }
    let cipher = SopsGcm::new(key.as_bytes().into());
    let mut sealed = cipher
        .encrypt(
            Nonce::<U32>::from_slice(iv),
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CipherError::Authentication)?;
    let tag = sealed.split_off(sealed.len() - TAG_LEN);
    Ok(EncryptedValue {
        data: sealed,
        iv: iv.to_vec(),
        tag,
        datatype: datatype.to_owned(),
    })
}

/// Decrypts the raw plaintext of a parsed value. Any IV length is accepted, as in Go's
/// `cipher.NewGCMWithNonceSize(len(iv))`; sops itself always writes 32 bytes.
pub fn open(
    enc: &EncryptedValue,
    key: &DataKey,
    aad: &str,
) -> Result<Zeroizing<Vec<u8>>, CipherError> {
    if enc.tag.len() != TAG_LEN {
        return Err(CipherError::Authentication);
    }
    let mut msg = Vec::with_capacity(enc.data.len() + TAG_LEN);
    msg.extend_from_slice(&enc.data);
    msg.extend_from_slice(&enc.tag);
    let payload = Payload {
        msg: &msg,
        aad: aad.as_bytes(),
    };
    let out = match enc.iv.len() {
        IV_LEN => {
            SopsGcm::new(key.as_bytes().into()).decrypt(Nonce::<U32>::from_slice(&enc.iv), payload)
        }
        12 => aes_gcm::Aes256Gcm::new(key.as_bytes().into()).decrypt(
            Nonce::<aes_gcm::aead::consts::U12>::from_slice(&enc.iv),
            payload,
        ),
        16 => AesGcm::<Aes256, aes_gcm::aead::consts::U16>::new(key.as_bytes().into()).decrypt(
            Nonce::<aes_gcm::aead::consts::U16>::from_slice(&enc.iv),
            payload,
        ),
        _ => return Err(CipherError::Authentication),
    };
    out.map(Zeroizing::new)
        .map_err(|_| CipherError::Authentication)
}

/// Parses and decrypts an `ENC[...]` string into a typed value (`Cipher.Decrypt`).
/// An empty string decrypts to an empty string.
pub fn decrypt_value(s: &str, key: &DataKey, aad: &str) -> Result<Decrypted, CipherError> {
    if s.is_empty() {
        return Ok(Decrypted {
            value: Value::Str(String::new()),
            iv: Vec::new(),
        });
    }
    let enc = EncryptedValue::parse(s)?;
    let plain = open(&enc, key, aad)?;
    let value = typed_value(plain, &enc.datatype)?;
    Ok(Decrypted { value, iv: enc.iv })
}

/// A decrypted value and the IV it was encrypted with (for the stash).
pub struct Decrypted {
    /// The typed plaintext.
    pub value: Value,
    /// The IV found in the file.
    pub iv: Vec<u8>,
}

/// Parses decrypted bytes per the declared type, with Go's parsers' leniency.
/// The typed value of a decrypted plaintext (sops' `type:` field). A string, byte string or
/// comment takes the plaintext buffer itself, without a copy.
fn typed_value(mut plain: Zeroizing<Vec<u8>>, datatype: &str) -> Result<Value, CipherError> {
    fn text(plain: &[u8]) -> Result<&str, CipherError> {
        std::str::from_utf8(plain).map_err(|_| CipherError::BadPlaintext {
            datatype: "utf-8 text",
        })
    }
    Ok(match datatype {
        // Python sops 1.x wrote `bytes`; sops 3.11 panics on it, we read it as a byte string.
        "str" | "bytes" => match String::from_utf8(std::mem::take(&mut *plain)) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
        "comment" => match String::from_utf8(std::mem::take(&mut *plain)) {
            Ok(s) => Value::Comment(s),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                return Err(CipherError::BadPlaintext {
                    datatype: "utf-8 text",
                });
            }
        },
        "int" => Value::Int(
            parse_go_int(text(&plain)?).ok_or(CipherError::BadPlaintext { datatype: "int" })?,
        ),
        "float" => Value::Float(
            parse_go_float(text(&plain)?).ok_or(CipherError::BadPlaintext { datatype: "float" })?,
        ),
        "bool" => Value::Bool(
            parse_go_bool(text(&plain)?).ok_or(CipherError::BadPlaintext { datatype: "bool" })?,
        ),
        "time" => Value::Time(
            Timestamp::parse_rfc3339(text(&plain)?)
                .map_err(|_| CipherError::BadPlaintext { datatype: "time" })?,
        ),
        other => return Err(CipherError::UnknownType(other.to_owned())),
    })
}

/// Go `strconv.Atoi`: optional sign, decimal digits.
fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseFloat(s, 64)` for the forms sops writes and Go accepts.
fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.contains('_') {
        return None;
    }
    s.parse().ok()
}

/// Go `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_found_from_the_end() {
        assert_eq!(rfind("a,iv:b,iv:c", b",iv:"), Some(6));
        assert_eq!(rfind(",iv:", b",iv:"), Some(0));
        assert_eq!(rfind("iv:", b",iv:"), None);
        assert_eq!(rfind("", b",iv:"), None);
        assert_eq!(rfind("é,tag:x", b",tag:"), Some(2));
        for (hay, needle) in [
            ("a,iv:b,iv:c", ",iv:"),
            ("a,iv:b,c", ",iv:"),
            ("a,iv:b,iv", ",iv:"),
            (",iv:", ",iv:"),
            ("a,b,c", ",iv:"),
            ("abc", ",iv:"),
            ("é,tag:x,", ",tag:"),
            ("", ",tag:"),
            ("a,iv:bb", ",iv:"),
            ("a,iv:b,", ",iv:"),
            ("a,iv:,iv:", ",iv:"),
            ("a,iv:b,iv:", ",iv:"),
            (",iv:bb", ",iv:"),
            ("iv:bbb", ",iv:"),
            ("a,tag:bb", ",tag:"),
            ("a,tag:,b", ",tag:"),
        ] {
            // Any expected field length gives what a full backward search gives.
            for field_len in [None, Some(0), Some(1), Some(2), Some(3), Some(9)] {
                assert_eq!(
                    rfind_separator(hay, needle.as_bytes(), field_len),
                    hay.rfind(needle),
                    "{hay} {field_len:?}"
                );
            }
        }
    }

    fn vector_key() -> DataKey {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        DataKey::from_bytes(k)
    }

    fn vector_iv() -> Vec<u8> {
        (0x20u8..0x40).collect()
    }

    // Vectors from the format reference (§2.6), computed independently and checked by sops.
    #[test]
    fn reference_vectors() {
        let key = vector_key();
        let iv = vector_iv();
        let cases = [
            (
                Value::Str("hello".into()),
                "a:b:",
                "ENC[AES256_GCM,data:f6SdJOI=,iv:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,tag:TEFu+ejkdT0ijPtelDWwfg==,type:str]",
            ),
            (
                Value::Int(42),
                "n:",
                "ENC[AES256_GCM,data:I/M=,iv:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,tag:UzMwOWR3/DEzgoo5/g7l1A==,type:int]",
            ),
            (
                Value::Comment(" a comment".into()),
                ":",
                "ENC[AES256_GCM,data:N6DRK+Jiu0aoJQ==,iv:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=,tag:zhXqWBo3rqdX5kCjunNSaw==,type:comment]",
            ),
        ];
        for (value, aad, expected) in cases {
            let got = encrypt_value(&value, &key, aad, Some(&iv)).unwrap();
            assert_eq!(got, expected);
            let back = decrypt_value(&got, &key, aad).unwrap();
            assert!(back.value == value);
            assert_eq!(back.iv, iv);
        }
    }

    #[test]
    fn wrong_aad_or_tamper_fails_authentication() {
        let key = vector_key();
        let enc = encrypt_value(&Value::Str("secret".into()), &key, "a:", None).unwrap();
        assert_eq!(
            decrypt_value(&enc, &key, "b:").err(),
            Some(CipherError::Authentication)
        );
        let tampered = enc.replacen("data:", "data:A", 1);
        assert!(decrypt_value(&tampered, &key, "a:").is_err());
    }

    #[test]
    fn typed_round_trips_and_renderings() {
        let key = vector_key();
        for (value, plain) in [
            (Value::Float(1.0), "1"),
            (Value::Float(1e21), "1000000000000000000000"),
            (Value::Float(1e-7), "0.0000001"),
            (Value::Float(f64::INFINITY), "+Inf"),
            (Value::Bool(false), "False"),
            (Value::Int(-7), "-7"),
        ] {
            assert_eq!(&**plaintext_bytes(&value).unwrap(), plain.as_bytes());
            let enc = encrypt_value(&value, &key, "x:", None).unwrap();
            assert!(decrypt_value(&enc, &key, "x:").unwrap().value == value);
        }
    }

    #[test]
    fn empty_strings_stay_empty() {
        let key = vector_key();
        assert_eq!(
            encrypt_value(&Value::Str(String::new()), &key, "a:", None).unwrap(),
            ""
        );
        assert!(decrypt_value("", &key, "a:").unwrap().value == Value::Str(String::new()));
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "plain",
            "ENC[AES256_GCM,data:,iv:AA==,tag:AA==,type:str]",
            "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==]",
            "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str",
        ] {
            assert!(EncryptedValue::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            EncryptedValue::parse("ENC[AES256_GCM,data:A,iv:AA==,tag:AA==,type:str]"),
            Err(CipherError::BadBase64 { field: "data" })
        );
    }

    #[test]
    fn the_value_cipher_agrees_with_the_reference_and_reports_like_it() {
        let key = vector_key();
        let iv = vector_iv();
        let mut cipher = ValueCipher::new(&key);
        for (value, aad) in [
            (Value::Str("hello".into()), "a:b:"),
            (Value::Int(42), "n:"),
            (Value::Comment(" a comment".into()), ":"),
            (Value::Bytes(vec![0xff, 0, 0xfe]), "b:"),
            (Value::Str("x".repeat(300)), "long:"),
        ] {
            let want = encrypt_value(&value, &key, aad, Some(&iv)).unwrap();
            assert_eq!(cipher.encrypt(&value, aad, Some(&iv)).unwrap(), want);
            let back = cipher.decrypt(&want, aad).unwrap();
            assert!(back.value == value, "{aad}");
            assert_eq!(back.iv, iv);
            assert!(decrypt_value(&want, &key, aad).unwrap().value == value);
        }
        // Malformed fields are reported in sops' order (data, iv, tag) on the fast path too.
        let good = cipher
            .encrypt(&Value::Str("hello".into()), "a:", None)
            .unwrap();
        let p = Parts::split(&good).unwrap();
        let bad_data = good.replacen(p.data, "!!!!", 1);
        let bad_both = bad_data.replacen(p.tag, "!!!!!!!!!!!!!!!!!!!!!!!!", 1);
        for bad in [bad_data.clone(), bad_both] {
            assert_eq!(
                cipher.decrypt(&bad, "a:").err(),
                Some(CipherError::BadBase64 { field: "data" })
            );
        }
        let bad_tag = good.replacen(p.tag, "!!!!!!!!!!!!!!!!!!!!!!!!", 1);
        assert_eq!(
            cipher.decrypt(&bad_tag, "a:").err(),
            decrypt_value(&bad_tag, &key, "a:").err()
        );
        assert!(cipher.decrypt(&bad_tag, "a:").is_err());
        // Decrypting in the value's own buffer gives the same values and the same errors.
        for value in [
            Value::Str("hello".into()),
            Value::Str("z".repeat(REUSE_MAX)),
            Value::Str("z".repeat(REUSE_MAX + 1)),
            Value::Bytes(vec![0xff, 0, 0xfe]),
            Value::Int(7),
            Value::Comment("c".into()),
        ] {
            let enc = cipher.encrypt(&value, "r:", None).unwrap();
            let mut s = enc.clone();
            assert!(cipher.decrypt_reusing(&mut s, "r:").unwrap() == value);
            let mut s = enc.clone();
            assert_eq!(
                cipher.decrypt_reusing(&mut s, "other:").err(),
                Some(CipherError::Authentication)
            );
        }
        for bad in [&bad_data, &bad_tag, &String::new(), &"ENC[nope]".to_owned()] {
            let mut s = bad.clone();
            assert_eq!(
                cipher.decrypt_reusing(&mut s, "a:").map(|v| v.kind_name()),
                cipher.decrypt(bad, "a:").map(|d| d.value.kind_name())
            );
        }
        // Line breaks inside a field are skipped, as Go's decoder does, on every field.
        let long = cipher
            .encrypt(&Value::Str("y".repeat(200)), "a:", None)
            .unwrap();
        let p = Parts::split(&long).unwrap();
        let broken = |f: &str| format!("{}\r\n{}\n", &f[..10], &f[10..]);
        for field in [p.data, p.iv, p.tag] {
            let wrapped = long.replacen(field, &broken(field), 1);
            let back = cipher.decrypt(&wrapped, "a:").unwrap();
            assert!(back.value == Value::Str("y".repeat(200)), "{field}");
        }
        assert_eq!(
            cipher.decrypt(&good, "b:").err(),
            Some(CipherError::Authentication)
        );
        // A comment that is not UTF-8 is refused, a string that is not becomes bytes.
        let raw = seal(&[0xff, 0xfe], &key, ":", &iv, "comment")
            .unwrap()
            .to_sops_string();
        assert!(matches!(
            cipher.decrypt(&raw, ":"),
            Err(CipherError::BadPlaintext { .. })
        ));
    }

    #[test]
    fn values_are_written_with_exact_base64() {
        for n in 0..70 {
            let data: Vec<u8> = (0..n as u8).collect();
            let want = format!(
                "ENC[AES256_GCM,data:{},iv:{},tag:{},type:str]",
                STANDARD.encode(&data),
                STANDARD.encode(&data[..n / 2]),
                STANDARD.encode([7u8; 16]),
            );
            assert_eq!(format_parts(&data, &data[..n / 2], &[7u8; 16], "str"), want);
        }
    }

    #[test]
    fn go_parsers() {
        assert_eq!(parse_go_int("+12"), Some(12));
        assert_eq!(parse_go_int("1_0"), None);
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
        assert!(parse_go_float("NaN").unwrap().is_nan());
    }
}

//! The 32-byte data key that encrypts every value of a file.

use zeroize::Zeroizing;

/// The symmetric key of one SOPS file. Never printed, never cloned implicitly, wiped on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(Zeroizing::new(crate::random::bytes::<32>()))
    }

    /// Wraps existing key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Takes a recovered key; `None` unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Self::from_bytes(arr))
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// An explicit copy, for the rare places that must keep the key twice.
    pub fn duplicate(&self) -> Self {
        Self::from_bytes(*self.0)
    }
}

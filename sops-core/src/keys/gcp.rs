//! GCP KMS master keys (`gcp_kms`), as sops' `gcpkms/keysource.go` (feature `gcp`).

use zeroize::Zeroizing;

use crate::keys::env::Environment;
use crate::keys::http::{Network, Transport};
use crate::keys::{KeyError, KeySource};
use crate::metadata::{KeyKind, MasterKey};

/// The GCP KMS key source.
pub struct GcpKms {
    env: Box<dyn Environment>,
    http: Box<dyn Transport>,
}

impl GcpKms {
    /// A source over the real network with `env` for credentials.
    pub fn new(env: impl Environment + 'static) -> Self {
        Self::with_transport(env, Network::default())
    }

    /// A source with an explicit transport (tests).
    pub fn with_transport(env: impl Environment + 'static, http: impl Transport + 'static) -> Self {
        Self {
            env: Box::new(env),
            http: Box::new(http),
        }
    }
}

impl KeySource for GcpKms {
    fn wrap(&self, key: &MasterKey, _secret: &[u8]) -> Option<Result<MasterKey, KeyError>> {
        let _ = (&self.env, &self.http);
        (key.kind == KeyKind::GcpKms)
            .then(|| Err(KeyError::new(key, "GCP KMS is not implemented yet")))
    }

    fn unwrap(&self, key: &MasterKey) -> Option<Result<Zeroizing<Vec<u8>>, KeyError>> {
        (key.kind == KeyKind::GcpKms)
            .then(|| Err(KeyError::new(key, "GCP KMS is not implemented yet")))
    }
}

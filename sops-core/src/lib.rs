//! Read and write SOPS files exactly as sops 3.x does.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod store;
pub mod timestamp;
pub mod tree;

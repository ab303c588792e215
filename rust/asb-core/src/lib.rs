//! `asb-core`: the Aerospike backup (`.asb`) format, its zstd and AES-CTR layers, and record
//! digests. No Python here; the `asb-py` crate binds it.
//!
//! Reading: [`layers::open_reader`] over a raw byte stream, then [`read::Reader`] over the
//! decoded text. Writing: [`write::Writer`] over a [`layers::LayeredWriter`].

pub mod b64;
pub mod convert;
pub mod deep;
pub mod delimit;
pub mod digest;
pub mod error;
pub mod json;
mod json_read;
pub mod layers;
pub mod model;
pub mod numbers;
pub mod output;
pub mod pace;
pub mod parallel;
pub mod read;
pub mod remote;
pub mod source;
pub mod summary;
pub mod synth;
pub mod write;

pub use error::{Error, ErrorKind, Position, Result};
pub use layers::{Cipher, EncryptionKey, Layers};
pub use model::{BlobType, Header, Key, Meta, Record, SecondaryIndex, Udf, Value, Version};
pub use read::{Entity, Reader};
pub use write::Writer;

//! `asb-wire`: the part of the Aerospike client protocol a backup tool needs, with no
//! value trees: a partition scan hands each record to the caller as an
//! [`asb_core::Record`] whose lists and maps are the server's own msgpack bytes.
//!
//! Which node to ask for which partitions, retries and the cluster view belong to the
//! caller; this crate talks to one node at a time.

pub mod admin;
pub mod backup;
pub mod conn;
pub mod error;
pub mod proto;
pub mod restore;
pub mod scan;
pub mod tls;
pub mod verify;
pub mod write;

pub use conn::{ConnectOptions, Connection, Credentials, Tls};
pub use error::{WireError, WireErrorKind, WireResult};
pub use scan::{run_scan, DecodeOptions, PartitionCursor, ScanLimits, ScanOutcome, ScanRequest};

//! `asb-wire`: the part of the Aerospike client protocol a backup tool needs, with no
//! value trees: a partition scan hands each record to the caller as an
//! [`asb_core::Record`] whose lists and maps are the server's own msgpack bytes.
//!
//! Restores and verifies run here whole (`restore`, `verify`: readers, batches to each
//! partition's master on many connections, retries); a backup's scans write straight into
//! `asb_core::output` (`backup`). Which node to ask for which partitions, the partition map,
//! and what to do when a node is lost belong to the caller (Python's cluster layer), which
//! gives the map to a restore and one node's partitions to each scan.

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

//! Errors of talking to a node, sorted by what the caller should do about them.

use std::fmt;
use std::io;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireErrorKind {
    /// The node could not be reached (refused, unreachable, connect timeout).
    Connect,
    /// The connection broke or went silent past the socket timeout.
    Connection,
    /// The peer sent something that is not the Aerospike protocol as we know it.
    Protocol,
    /// The node answered with a result code.
    Server(u8),
    /// A record holds something a backup file cannot carry (a vector bin, say).
    Data,
    /// Writing the backup failed (disk full, a closed pipe): never retried.
    Output,
    /// Stopped on request (Ctrl-C, SIGTERM).
    Cancelled,
    /// The scan ran past `--total-timeout`: not retried, as the C tools do not.
    TotalTimeout,
}

#[derive(Clone, Debug)]
pub struct WireError {
    pub kind: WireErrorKind,
    pub message: String,
    /// `host:port` of the node, once known.
    pub node: Option<String>,
    /// The partition it concerns, when it concerns one (a record's, or a one-partition scan's).
    pub partition: Option<u16>,
}

pub type WireResult<T> = Result<T, WireError>;

impl WireError {
    pub fn new(kind: WireErrorKind, message: impl Into<String>) -> WireError {
        WireError {
            kind,
            message: message.into(),
            node: None,
            partition: None,
        }
    }

    pub fn protocol(message: impl Into<String>) -> WireError {
        WireError::new(WireErrorKind::Protocol, message)
    }

    pub fn server(code: u8, context: &str) -> WireError {
        WireError::new(
            WireErrorKind::Server(code),
            format!("{context}: {} (result code {code})", result_name(code)),
        )
    }

    pub fn in_partition(mut self, pid: u16) -> WireError {
        self.partition.get_or_insert(pid);
        self
    }

    pub fn at(mut self, node: &str) -> WireError {
        if self.node.is_none() {
            self.node = Some(node.to_string());
        }
        self
    }

    /// Whether the same work may succeed on another try, perhaps on another node: what the
    /// C client's partition tracker retries (connection loss, timeouts, partitions
    /// unavailable during migrations, cluster change).
    pub fn retryable(&self) -> bool {
        match self.kind {
            WireErrorKind::Connect | WireErrorKind::Connection => true,
            WireErrorKind::Server(code) => matches!(code, 7 | 9 | 11 | 14 | 18 | 201 | 203),
            WireErrorKind::Protocol
            | WireErrorKind::Data
            | WireErrorKind::Output
            | WireErrorKind::Cancelled
            | WireErrorKind::TotalTimeout => false,
        }
    }

    pub fn from_io(e: &io::Error, doing: &str) -> WireError {
        let kind = match e.kind() {
            io::ErrorKind::ConnectionRefused | io::ErrorKind::AddrNotAvailable => {
                WireErrorKind::Connect
            }
            _ => WireErrorKind::Connection,
        };
        let what = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                "no answer within the socket timeout (--socket-timeout)".to_string()
            }
            io::ErrorKind::UnexpectedEof => "the node closed the connection".to_string(),
            _ => e.to_string(),
        };
        WireError::new(kind, format!("{doing}: {what}"))
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node {node}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for WireError {}

/// The server's name for a result code, in words.
pub fn result_name(code: u8) -> &'static str {
    match code {
        0 => "ok",
        1 => "server error",
        2 => "record not found",
        3 => "generation mismatch",
        4 => "invalid request parameter",
        5 => "record exists",
        7 => "cluster changed during the command",
        8 => "server full (stop-writes)",
        9 => "server-side timeout",
        11 => "partition unavailable",
        12 => "incompatible bin type",
        13 => "record too big",
        14 => "record busy (hot key)",
        15 => "scan aborted by the server",
        16 => "feature not supported by this server",
        18 => "device overload",
        19 => "key mismatch",
        20 => "namespace not found",
        21 => "invalid bin name",
        22 => "forbidden",
        25 => "enterprise-only feature",
        51 => "security not supported (Community Edition)",
        52 => "security not enabled",
        60 => "invalid user",
        62 => "invalid password",
        65 => "invalid credential",
        66 => "session expired",
        80 => "not authenticated",
        81 => "role violation",
        150 => "batch writes disabled",
        201 => "index not found",
        203 => "index not readable",
        _ => "error",
    }
}

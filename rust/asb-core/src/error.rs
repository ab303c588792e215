//! Errors of the codec: where in which file, and what was expected.

use std::fmt;
use std::io;

/// Location of a problem in the decoded text stream (1-based line and column, as
/// `asrestore` counts them; `offset` is the 0-based byte offset in the decoded text).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
    pub offset: u64,
}

impl Position {
    /// This position in a text that has `lines` more lines before it (a position found in
    /// a piece of a file, as a position in the whole file).
    pub fn lines_later(self, lines: u64) -> Position {
        Position {
            line: self.line + lines,
            ..self
        }
    }
}

#[derive(Debug)]
pub enum ErrorKind {
    /// The text does not follow the format.
    Parse,
    /// The zstd or AES layer is wrong or damaged (including a wrong key or missing flag).
    Layer,
    /// The encryption key cannot be used.
    Key,
    /// A value cannot be written in a form the C tools read back (NUL in a name, too long).
    Value,
    /// Reading or writing failed.
    Io(io::Error),
}

#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub position: Option<Position>,
    pub path: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn parse(message: impl Into<String>, position: Position) -> Error {
        Error {
            kind: ErrorKind::Parse,
            message: message.into(),
            position: Some(position),
            path: None,
        }
    }

    pub fn layer(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Layer,
            message: message.into(),
            position: None,
            path: None,
        }
    }

    pub fn value(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Value,
            message: message.into(),
            position: None,
            path: None,
        }
    }

    pub fn key(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Key,
            message: message.into(),
            position: None,
            path: None,
        }
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Error {
        if self.path.is_none() {
            self.path = Some(path.into());
        }
        self
    }

    pub fn with_position_if_missing(mut self, position: Position) -> Error {
        if self.position.is_none() {
            self.position = Some(position);
        }
        self
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        // Layer readers report their own failures as io errors carrying an `Error`.
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return *err.into_inner().unwrap().downcast::<Error>().unwrap();
        }
        Error {
            message: err.to_string(),
            kind: ErrorKind::Io(err),
            position: None,
            path: None,
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::other(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        if let Some(p) = &self.position {
            write!(
                f,
                "line {}, column {} (byte {}): ",
                p.line, p.column, p.offset
            )?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Shows a byte the way a user can read it: printable ASCII quoted, else `\xNN`.
pub fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("\"{}\"", b as char)
    } else if b == b' ' {
        "space".to_string()
    } else if b == b'\n' {
        "end of line".to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

//! `.asb` writer producing exactly the bytes C `asbackup` writes.

use std::io::Write;

use crate::delimit::{find_name_end, Ends, SPECIAL};
use crate::error::{Error, Result};
use crate::model::{Header, Key, Meta, Record, SecondaryIndex, Udf, Value};
use crate::numbers::push_c_double;
use crate::read::{MAX_BIN_NAME, MAX_NAMESPACE, MAX_SET, MAX_TOKEN};

const FLUSH_AT: usize = 256 * 1024;

/// Appends a name, putting a backslash before each backslash, SP and LF (3.0 files have no
/// escapes, so there such names cannot be written). Names the C reader would refuse (a NUL
/// byte, longer than `max`) are refused here.
#[inline]
pub fn push_name(
    out: &mut Vec<u8>,
    bytes: &[u8],
    legacy: bool,
    max: usize,
    what: &str,
) -> Result<()> {
    let special = Ends {
        backslash: !legacy,
        ..SPECIAL
    };
    if bytes.len() <= max && find_name_end(bytes, special).is_none() {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    if bytes.len() > max {
        return Err(Error::value(format!(
            "{what} is {} bytes long; at most {max} can be read back",
            bytes.len()
        )));
    }
    if bytes.contains(&0) {
        return Err(Error::value(format!(
            "{what} holds a NUL byte, which the C tools cannot read back"
        )));
    }
    if legacy {
        return Err(Error::value(format!(
            "{what} holds a space or line feed, which a version 3.0 file cannot carry"
        )));
    }
    for &b in bytes {
        if matches!(b, b'\\' | b' ' | b'\n') {
            out.push(b'\\');
        }
        out.push(b);
    }
    Ok(())
}

/// As [`push_name`], for a record's namespace and set: they end only at LF, so a version 3.0
/// file carries a space in them as is.
#[inline]
fn push_line_name(
    out: &mut Vec<u8>,
    bytes: &[u8],
    legacy: bool,
    max: usize,
    what: &str,
) -> Result<()> {
    if legacy && bytes.len() <= max && !bytes.contains(&b'\n') && !bytes.contains(&0) {
        out.extend_from_slice(bytes);
        return Ok(());
    }
    push_name(out, bytes, legacy, max, what)
}

#[inline]
fn push_int(out: &mut Vec<u8>, v: impl crate::numbers::DecimalInt) {
    crate::numbers::push_decimal(out, v);
}

#[inline]
fn push_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    push_int(out, bytes.len());
    out.push(b' ');
    out.extend_from_slice(bytes);
}

#[inline]
fn push_b64_sized(out: &mut Vec<u8>, bytes: &[u8]) {
    push_int(out, bytes.len().div_ceil(3) * 4);
    out.push(b' ');
    crate::b64::encode_append(bytes, out);
}

/// Appends the header and meta lines.
pub fn encode_header(out: &mut Vec<u8>, header: &Header) -> Result<()> {
    out.extend_from_slice(b"Version ");
    out.extend_from_slice(header.version.as_str().as_bytes());
    out.push(b'\n');
    for meta in &header.meta {
        match meta {
            Meta::Namespace(ns) => {
                out.extend_from_slice(b"# namespace ");
                // asrestore reads meta lines up to the first LF, escaped or not.
                if ns.contains(&b'\n') {
                    return Err(Error::value(
                        "a namespace with a line feed cannot be written in the header",
                    ));
                }
                push_name(
                    out,
                    ns,
                    header.version.is_legacy(),
                    MAX_NAMESPACE,
                    "the namespace",
                )?;
            }
            Meta::FirstFile => out.extend_from_slice(b"# first-file"),
            Meta::Other(line) => {
                out.extend_from_slice(b"# ");
                out.extend_from_slice(line);
            }
        }
        out.push(b'\n');
    }
    Ok(())
}

pub fn encode_sindex(out: &mut Vec<u8>, s: &SecondaryIndex) -> Result<()> {
    out.extend_from_slice(if s.expression.is_some() {
        b"* e "
    } else {
        b"* i "
    });
    push_name(
        out,
        &s.namespace,
        false,
        MAX_NAMESPACE,
        "the index namespace",
    )?;
    out.push(b' ');
    push_name(out, &s.set, false, MAX_SET, "the index set")?;
    out.push(b' ');
    push_name(out, &s.name, false, MAX_TOKEN, "the index name")?;
    out.push(b' ');
    out.push(s.index_type);
    out.push(b' ');
    push_int(out, s.paths.len());
    for (path, ptype) in &s.paths {
        out.push(b' ');
        push_name(out, path, false, MAX_TOKEN, "the index path")?;
        out.push(b' ');
        out.push(*ptype);
    }
    if let Some(ctx) = &s.context {
        out.push(b' ');
        push_name(out, ctx, false, usize::MAX, "the index context")?;
    }
    if let Some(expr) = &s.expression {
        out.push(b' ');
        out.extend_from_slice(expr);
    }
    out.push(b'\n');
    Ok(())
}

pub fn encode_udf(out: &mut Vec<u8>, u: &Udf) -> Result<()> {
    out.extend_from_slice(b"* u ");
    out.push(u.udf_type);
    out.push(b' ');
    push_name(out, &u.name, false, MAX_TOKEN, "the UDF file name")?;
    out.push(b' ');
    push_sized(out, &u.content);
    out.push(b'\n');
    Ok(())
}

/// Appends one record in C `asbackup`'s line order and forms.
pub fn encode_record(out: &mut Vec<u8>, rec: &Record, legacy: bool) -> Result<()> {
    // One reservation covers the fixed lines; values reserve for themselves.
    out.reserve(256);
    if let Some(key) = rec.key() {
        out.extend_from_slice(b"+ k ");
        match key {
            Key::Int(v) => {
                out.extend_from_slice(b"I ");
                push_int(out, v);
            }
            Key::Double(v) => {
                out.extend_from_slice(b"D ");
                match rec.double_text(None) {
                    Some(text) => out.extend_from_slice(text),
                    None => push_c_double(out, v),
                }
            }
            Key::Str(s) => {
                out.extend_from_slice(b"S ");
                push_sized(out, s);
            }
            Key::Bytes {
                bytes,
                compact: true,
            } => {
                out.extend_from_slice(b"B! ");
                push_sized(out, bytes);
            }
            Key::Bytes {
                bytes,
                compact: false,
            } => {
                out.extend_from_slice(b"B ");
                push_b64_sized(out, bytes);
            }
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"+ n ");
    push_line_name(out, rec.namespace(), legacy, MAX_NAMESPACE, "the namespace")?;
    out.extend_from_slice(b"\n+ d ");
    match rec.digest_text() {
        Some(text) => out.extend_from_slice(text),
        None => crate::b64::encode_append(&rec.digest, out),
    }
    out.push(b'\n');
    if let Some(set) = rec.set() {
        out.extend_from_slice(b"+ s ");
        push_line_name(out, set, legacy, MAX_SET, "the set name")?;
        out.push(b'\n');
    }
    out.extend_from_slice(b"+ g ");
    push_int(out, rec.generation);
    out.extend_from_slice(b"\n+ t ");
    push_int(out, rec.void_time);
    out.extend_from_slice(b"\n+ b ");
    push_int(out, rec.bin_count());
    out.push(b'\n');
    // By index: writers are hot, and an index loop is inlined where an iterator may not be.
    for i in 0..rec.bin_count() {
        let (name, value) = rec.bin(i);
        let text = match value {
            Value::Double(_) => rec.double_text(Some(i)),
            Value::Blob { compact: false, .. } => rec.blob_text(i),
            _ => None,
        };
        encode_bin(out, name, &value, text, legacy)?;
    }
    Ok(())
}

/// `text`: how a double is written when it was read in another form than `%.17g`, or the
/// canonical base64 of a blob, kept as read.
#[inline]
fn encode_bin(
    out: &mut Vec<u8>,
    name: &[u8],
    value: &Value<'_>,
    text: Option<&[u8]>,
    legacy: bool,
) -> Result<()> {
    out.extend_from_slice(b"- ");
    out.push(value.letter());
    if matches!(value, Value::Blob { compact: true, .. }) {
        out.push(b'!');
    }
    out.push(b' ');
    push_name(out, name, legacy, MAX_BIN_NAME, "the bin name")?;
    match *value {
        Value::Nil => {}
        Value::Bool(b) => out.extend_from_slice(if b { b" T" } else { b" F" }),
        Value::Int(v) => {
            out.push(b' ');
            push_int(out, v);
        }
        Value::Double(v) => {
            out.push(b' ');
            match text {
                Some(text) => out.extend_from_slice(text),
                None => push_c_double(out, v),
            }
        }
        Value::Str(s) | Value::GeoJson(s) => {
            out.push(b' ');
            push_sized(out, s);
        }
        Value::Blob { bytes, compact, .. } => {
            out.push(b' ');
            match text {
                _ if compact => push_sized(out, bytes),
                Some(text) => push_sized(out, text),
                None => push_b64_sized(out, bytes),
            }
        }
    }
    out.push(b'\n');
    Ok(())
}

/// Buffers encoded entities and writes them to `out` in large blocks.
pub struct Writer<W: Write> {
    out: W,
    buf: Vec<u8>,
    legacy: bool,
    written: u64,
}

impl<W: Write> Writer<W> {
    /// Writes `header` first; every file starts with one.
    pub fn new(out: W, header: &Header) -> Result<Writer<W>> {
        let mut w = Writer {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            legacy: header.version.is_legacy(),
            written: 0,
        };
        encode_header(&mut w.buf, header)?;
        Ok(w)
    }

    pub fn write_sindex(&mut self, s: &SecondaryIndex) -> Result<()> {
        let start = self.buf.len();
        let encoded = encode_sindex(&mut self.buf, s);
        self.entity_done(start, encoded)
    }

    pub fn write_udf(&mut self, u: &Udf) -> Result<()> {
        let start = self.buf.len();
        let encoded = encode_udf(&mut self.buf, u);
        self.entity_done(start, encoded)
    }

    #[inline]
    pub fn write_record(&mut self, rec: &Record) -> Result<()> {
        let start = self.buf.len();
        let encoded = encode_record(&mut self.buf, rec, self.legacy);
        self.entity_done(start, encoded)
    }

    /// An entity that cannot be written leaves nothing of itself behind.
    #[inline]
    fn entity_done(&mut self, start: usize, encoded: Result<()>) -> Result<()> {
        if let Err(e) = encoded {
            self.buf.truncate(start);
            return Err(e);
        }
        self.maybe_flush()
    }

    /// Text bytes produced so far (before any compression or encryption).
    pub fn text_bytes(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    #[inline]
    fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Pushes buffered text into the underlying stream (does not end a zstd frame).
    pub fn flush(&mut self) -> Result<()> {
        self.drain()?;
        self.out.flush()?;
        Ok(())
    }

    /// Writes what is buffered and hands back the stream (finish layers on it).
    pub fn into_inner(mut self) -> Result<W> {
        self.drain()?;
        Ok(self.out)
    }
}

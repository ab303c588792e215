//! `.asb` writer producing exactly the bytes C `asbackup` writes.

use std::io::Write;

use crate::error::Result;
use crate::model::{Header, Key, Meta, Record, SecondaryIndex, Udf, Value};
use crate::numbers::push_c_double;
use crate::scan::find_name_end;

const FLUSH_AT: usize = 256 * 1024;

/// Appends `bytes`, putting a backslash before each backslash, SP and LF (not in 3.0 files).
#[inline]
pub fn push_escaped(out: &mut Vec<u8>, bytes: &[u8], legacy: bool) {
    if legacy || find_name_end(bytes, false).is_none() {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        if matches!(b, b'\\' | b' ' | b'\n') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[inline]
fn push_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
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
pub fn encode_header(out: &mut Vec<u8>, header: &Header) {
    out.extend_from_slice(b"Version ");
    out.extend_from_slice(header.version.as_str().as_bytes());
    out.push(b'\n');
    for meta in &header.meta {
        match meta {
            Meta::Namespace(ns) => {
                out.extend_from_slice(b"# namespace ");
                push_escaped(out, ns, header.version.is_legacy());
            }
            Meta::FirstFile => out.extend_from_slice(b"# first-file"),
        }
        out.push(b'\n');
    }
}

pub fn encode_sindex(out: &mut Vec<u8>, s: &SecondaryIndex) {
    out.extend_from_slice(if s.expression.is_some() { b"* e " } else { b"* i " });
    push_escaped(out, &s.namespace, false);
    out.push(b' ');
    push_escaped(out, &s.set, false);
    out.push(b' ');
    push_escaped(out, &s.name, false);
    out.push(b' ');
    out.push(s.index_type);
    out.push(b' ');
    push_int(out, s.paths.len());
    for (path, ptype) in &s.paths {
        out.push(b' ');
        push_escaped(out, path, false);
        out.push(b' ');
        out.push(*ptype);
    }
    if let Some(ctx) = &s.context {
        out.push(b' ');
        push_escaped(out, ctx, false);
    }
    if let Some(expr) = &s.expression {
        out.push(b' ');
        out.extend_from_slice(expr);
    }
    out.push(b'\n');
}

pub fn encode_udf(out: &mut Vec<u8>, u: &Udf) {
    out.extend_from_slice(b"* u ");
    out.push(u.udf_type);
    out.push(b' ');
    push_escaped(out, &u.name, false);
    out.push(b' ');
    push_sized(out, &u.content);
    out.push(b'\n');
}

/// Appends one record in C `asbackup`'s line order and forms.
pub fn encode_record(out: &mut Vec<u8>, rec: &Record, legacy: bool) {
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
                push_c_double(out, v);
            }
            Key::Str(s) => {
                out.extend_from_slice(b"S ");
                push_sized(out, s);
            }
            Key::Bytes { bytes, compact: true } => {
                out.extend_from_slice(b"B! ");
                push_sized(out, bytes);
            }
            Key::Bytes { bytes, compact: false } => {
                out.extend_from_slice(b"B ");
                push_b64_sized(out, bytes);
            }
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"+ n ");
    push_escaped(out, rec.namespace(), legacy);
    out.extend_from_slice(b"\n+ d ");
    crate::b64::encode_append(&rec.digest, out);
    out.push(b'\n');
    if let Some(set) = rec.set() {
        out.extend_from_slice(b"+ s ");
        push_escaped(out, set, legacy);
        out.push(b'\n');
    }
    out.extend_from_slice(b"+ g ");
    push_int(out, rec.generation);
    out.extend_from_slice(b"\n+ t ");
    push_int(out, rec.void_time);
    out.extend_from_slice(b"\n+ b ");
    push_int(out, rec.bin_count());
    out.push(b'\n');
    for (name, value) in rec.bins() {
        encode_bin(out, name, &value, legacy);
    }
}

#[inline]
fn encode_bin(out: &mut Vec<u8>, name: &[u8], value: &Value<'_>, legacy: bool) {
    out.extend_from_slice(b"- ");
    out.push(value.letter());
    if matches!(value, Value::Blob { compact: true, .. }) {
        out.push(b'!');
    }
    out.push(b' ');
    push_escaped(out, name, legacy);
    match *value {
        Value::Nil => {}
        Value::Bool(b) => out.extend_from_slice(if b { b" T" } else { b" F" }),
        Value::Int(v) => {
            out.push(b' ');
            push_int(out, v);
        }
        Value::Double(v) => {
            out.push(b' ');
            push_c_double(out, v);
        }
        Value::Str(s) | Value::GeoJson(s) => {
            out.push(b' ');
            push_sized(out, s);
        }
        Value::Blob { bytes, compact, .. } => {
            out.push(b' ');
            if compact {
                push_sized(out, bytes);
            } else {
                push_b64_sized(out, bytes);
            }
        }
    }
    out.push(b'\n');
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
        encode_header(&mut w.buf, header);
        Ok(w)
    }

    pub fn write_sindex(&mut self, s: &SecondaryIndex) -> Result<()> {
        encode_sindex(&mut self.buf, s);
        self.maybe_flush()
    }

    pub fn write_udf(&mut self, u: &Udf) -> Result<()> {
        encode_udf(&mut self.buf, u);
        self.maybe_flush()
    }

    #[inline]
    pub fn write_record(&mut self, rec: &Record) -> Result<()> {
        encode_record(&mut self.buf, rec, self.legacy);
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

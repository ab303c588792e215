//! Lossless JSON Lines form of a backup: one object per entity, in file order.
//!
//! * Text (names, string and GeoJSON values, string keys) is a JSON string when the bytes are
//!   UTF-8, else `{"b64": …}`.
//! * Integers are JSON numbers (full int64: consumers must parse 64-bit integers).
//! * Doubles are the shortest text that reads back to the same bits; NaN and infinities are
//!   the strings `"NaN"`, `"-NaN"`, `"Infinity"`, `"-Infinity"`.
//! * Blobs are base64 with their type letter; `"compact": true` marks the `!` form so the
//!   text comes back byte for byte. Lists and maps keep the server's msgpack (base64 in `v`)
//!   and add a readable `"view"` that is ignored when converting back.
//! * Records keep namespace, digest, set, generation, void time (plus `"expires"`, ISO-8601
//!   UTC) and key.

use crate::model::{BlobType, Header, Key, Meta, Record, SecondaryIndex, Udf, Value};
use crate::summary::CITRUSLEAF_EPOCH;

// ---------------------------------------------------------------------------------------
// Writing JSON

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Bytes that JSON strings cannot hold as they are (controls, `"`, `\\`), or that need the
/// UTF-8 check (DEL and everything above ASCII).
static NEEDS_CARE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b < 0x20 || b >= 0x7f || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    t
};

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Does a word of 8 bytes hold a byte that [`NEEDS_CARE`]? (Exact, by the classic
/// has-zero-byte tricks: one test per class of byte.)
#[inline(always)]
fn word_needs_care(x: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(LOW) & !v & HIGH;
    let below_space = x.wrapping_sub(LOW * 0x20) & !x & HIGH;
    (below_space
        | x & HIGH
        | has_zero(x ^ (LOW * 0x7f))
        | has_zero(x ^ (LOW * b'"' as u64))
        | has_zero(x ^ (LOW * b'\\' as u64)))
        != 0
}

/// True when `bytes` can be copied into a JSON string as they are (printable ASCII, no
/// quote or backslash): what nearly all names and values are.
#[inline]
fn is_plain(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        return !bytes.iter().any(|&b| NEEDS_CARE[b as usize]);
    }
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if word_needs_care(word(i)) {
            return false;
        }
        i += 8;
    }
    // The last word overlaps the one before it: no byte-by-byte tail.
    i == bytes.len() || !word_needs_care(word(bytes.len() - 8))
}

/// The 1 to 7 bytes of `bytes` as a little-endian word, zero above them: two overlapping
/// 4-byte loads, or three single bytes for fewer than four.
#[inline(always)]
fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    debug_assert!((1..8).contains(&n));
    if n >= 4 {
        let lo = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as u64;
        let hi = u32::from_le_bytes(bytes[n - 4..].try_into().expect("4 bytes")) as u64;
        lo | hi << (8 * (n - 4))
    } else {
        bytes[0] as u64
            | (bytes[n / 2] as u64) << (8 * (n / 2))
            | (bytes[n - 1] as u64) << (8 * (n - 1))
    }
}

/// Appends `bytes` as a JSON string if they are UTF-8; `false` (and nothing appended) if not.
/// The short plain text most names and values are is written here, inline; the rest by
/// [`push_utf8_other`].
#[inline(always)]
fn push_utf8(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    let n = bytes.len();
    if (1..8).contains(&n) {
        // Most bin names: gathered into one word (padded with 'a'), checked once and
        // stored with its quotes by one 8-byte write into reserved room.
        let word = short_word(bytes);
        let pad = !0u64 << (8 * n);
        if !word_needs_care(word | (pad & (LOW * b'a' as u64))) {
            out.reserve(10);
            let len = out.len();
            // SAFETY: 10 bytes are reserved after `len`; the word's bytes past `n` land in
            // room that the closing quote or spare capacity covers.
            unsafe {
                let dst = out.as_mut_ptr().add(len);
                *dst = b'"';
                dst.add(1).cast::<u64>().write_unaligned(word.to_le());
                *dst.add(n + 1) = b'"';
                out.set_len(len + n + 2);
            }
            return true;
        }
    } else if (8..=16).contains(&n) {
        // Most names and values: two overlapping words, each checked and stored once.
        let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let (head, tail) = (word(0), word(n - 8));
        if !word_needs_care(head) && !word_needs_care(tail) {
            out.reserve(n + 2);
            let len = out.len();
            // SAFETY: n + 2 bytes are reserved after `len`; all of them are written (the two
            // words overlap when n < 16).
            unsafe {
                let dst = out.as_mut_ptr().add(len);
                *dst = b'"';
                dst.add(1).cast::<u64>().write_unaligned(head.to_le());
                dst.add(1 + n - 8)
                    .cast::<u64>()
                    .write_unaligned(tail.to_le());
                *dst.add(n + 1) = b'"';
                out.set_len(len + n + 2);
            }
            return true;
        }
    }
    push_utf8_other(out, bytes)
}

#[inline(never)]
fn push_utf8_other(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if is_plain(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        crate::read::append_small(out, bytes);
        out.push(b'"');
        return true;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            push_json_str(out, s);
            true
        }
        Err(_) => false,
    }
}

/// Bytes as a JSON string when they are UTF-8, else `{"b64": …}`.
#[inline]
fn push_text(out: &mut Vec<u8>, bytes: &[u8]) {
    if !push_utf8(out, bytes) {
        out.extend_from_slice(b"{\"b64\":\"");
        crate::b64::encode_append(bytes, out);
        out.extend_from_slice(b"\"}");
    }
}

fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    crate::b64::encode_append(bytes, out);
    out.push(b'"');
}

/// Base64 text already in canonical form, as a JSON string.
#[inline]
fn push_b64_text(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    crate::read::append_small(out, text);
    out.push(b'"');
}

fn push_double(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"\"-NaN\""
        } else {
            b"\"NaN\""
        });
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        let mut buf = zmij::Buffer::new();
        let text = buf.format_finite(v).as_bytes();
        // zmij writes exponents as `e+21`; JSON from asbkit has always had ryu's `e21`.
        let tail = text.len().saturating_sub(5);
        match text[tail..].iter().position(|&c| c == b'+') {
            None => crate::read::append_small(out, text),
            Some(p) => {
                out.extend_from_slice(&text[..tail + p]);
                out.extend_from_slice(&text[tail + p + 1..]);
            }
        }
    }
}

/// `,"text":…` when the double was read in another form than C's `%.17g` (Go's shortest
/// forms): converting back writes that text again.
#[inline]
fn push_double_text(out: &mut Vec<u8>, text: Option<&[u8]>) {
    if let Some(text) = text {
        out.extend_from_slice(b",\"text\":");
        push_text(out, text);
    }
}

#[inline(always)]
fn push_int(out: &mut Vec<u8>, v: impl crate::numbers::DecimalInt) {
    crate::numbers::push_decimal(out, v);
}

/// ISO-8601 UTC of a void time (seconds since 2010-01-01).
pub fn void_time_iso(void_time: u32) -> String {
    let mut out = Vec::with_capacity(20);
    push_iso(&mut out, void_time);
    String::from_utf8(out).expect("ASCII")
}

/// `YYYY-MM-DDTHH:MM:SSZ`, put together in three words and stored once (void times end in
/// 2146: four-digit years).
fn push_iso(out: &mut Vec<u8>, void_time: u32) {
    let secs = CITRUSLEAF_EPOCH + void_time as u64;
    let (days, rem) = (secs / 86400, secs % 86400);
    let (year, month, day) = crate::summary::civil_from_days(days as i64);
    let pair = |v: u64| crate::numbers::digit_pair(v as usize) as u64;
    let (year, month, day) = (year as u64, month as u64, day as u64);
    let date = pair(year / 100)
        | pair(year % 100) << 16
        | (b'-' as u64) << 32
        | pair(month) << 40
        | (b'-' as u64) << 56;
    let time = pair(day)
        | (b'T' as u64) << 16
        | pair(rem / 3600) << 24
        | (b':' as u64) << 40
        | pair(rem / 60 % 60) << 48;
    let end = b':' as u32 | (pair(rem % 60) as u32) << 8 | (b'Z' as u32) << 24;
    out.reserve(20);
    let len = out.len();
    // SAFETY: 20 bytes are reserved after `len`, and the three stores write all of them.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        dst.cast::<u64>().write_unaligned(date.to_le());
        dst.add(8).cast::<u64>().write_unaligned(time.to_le());
        dst.add(16).cast::<u32>().write_unaligned(end.to_le());
        out.set_len(len + 20);
    }
}

pub fn header_to_json(out: &mut Vec<u8>, header: &Header, file: Option<&str>) {
    out.extend_from_slice(b"{\"type\":\"header\",\"version\":\"");
    out.extend_from_slice(header.version.as_str().as_bytes());
    out.push(b'"');
    if let Some(file) = file {
        out.extend_from_slice(b",\"file\":");
        push_json_str(out, file);
    }
    if let Some(ns) = header.namespace() {
        out.extend_from_slice(b",\"namespace\":");
        push_text(out, ns);
    }
    out.extend_from_slice(if header.first_file() {
        b",\"first_file\":true"
    } else {
        b",\"first_file\":false"
    });
    out.extend_from_slice(b",\"meta\":[");
    for (i, m) in header.meta.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match m {
            Meta::Namespace(ns) => {
                out.extend_from_slice(b"{\"namespace\":");
                push_text(out, ns);
                out.push(b'}');
            }
            Meta::FirstFile => out.extend_from_slice(b"{\"first_file\":true}"),
            Meta::Other(line) => {
                out.extend_from_slice(b"{\"line\":");
                push_text(out, line);
                out.push(b'}');
            }
        }
    }
    out.extend_from_slice(b"]}\n");
}

pub fn sindex_to_json(out: &mut Vec<u8>, s: &SecondaryIndex) {
    out.extend_from_slice(b"{\"type\":\"sindex\",\"namespace\":");
    push_text(out, &s.namespace);
    out.extend_from_slice(b",\"set\":");
    push_text(out, &s.set);
    out.extend_from_slice(b",\"name\":");
    push_text(out, &s.name);
    out.extend_from_slice(b",\"index_type\":\"");
    out.push(s.index_type);
    out.extend_from_slice(b"\",\"paths\":[");
    for (i, (path, ptype)) in s.paths.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"bin\":");
        push_text(out, path);
        out.extend_from_slice(b",\"type\":\"");
        out.push(*ptype);
        out.extend_from_slice(b"\"}");
    }
    out.push(b']');
    if let Some(ctx) = &s.context {
        out.extend_from_slice(b",\"context\":");
        push_text(out, ctx);
    }
    if let Some(expr) = &s.expression {
        out.extend_from_slice(b",\"expression\":");
        push_text(out, expr);
    }
    out.extend_from_slice(b"}\n");
}

pub fn udf_to_json(out: &mut Vec<u8>, u: &Udf) {
    out.extend_from_slice(b"{\"type\":\"udf\",\"udf_type\":\"");
    out.push(u.udf_type);
    out.extend_from_slice(b"\",\"name\":");
    push_text(out, &u.name);
    out.extend_from_slice(b",\"content\":");
    push_text(out, &u.content);
    out.extend_from_slice(b"}\n");
}

pub fn record_to_json(out: &mut Vec<u8>, rec: &Record) {
    out.extend_from_slice(b"{\"type\":\"record\",\"namespace\":");
    push_text(out, rec.namespace());
    if let Some(set) = rec.set() {
        out.extend_from_slice(b",\"set\":");
        push_text(out, set);
    }
    out.extend_from_slice(b",\"digest\":");
    match rec.digest_text() {
        Some(text) => push_b64_text(out, text),
        None => push_b64(out, &rec.digest),
    }
    out.extend_from_slice(b",\"generation\":");
    push_int(out, rec.generation);
    out.extend_from_slice(b",\"void_time\":");
    push_int(out, rec.void_time);
    if rec.void_time != 0 {
        out.extend_from_slice(b",\"expires\":\"");
        push_iso(out, rec.void_time);
        out.push(b'"');
    }
    if let Some(key) = rec.key() {
        out.extend_from_slice(b",\"key\":{\"t\":");
        match key {
            Key::Int(v) => {
                out.extend_from_slice(b"\"I\",\"v\":");
                push_int(out, v);
            }
            Key::Double(v) => {
                out.extend_from_slice(b"\"D\",\"v\":");
                push_double(out, v);
                push_double_text(out, rec.double_text(None));
            }
            Key::Str(s) => {
                out.extend_from_slice(b"\"S\",\"v\":");
                push_text(out, s);
            }
            Key::Bytes { bytes, compact } => {
                out.extend_from_slice(b"\"B\",\"v\":");
                push_b64(out, bytes);
                if compact {
                    out.extend_from_slice(b",\"compact\":true");
                }
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"bins\":[");
    // By index: writers are hot, and an index loop is inlined where an iterator may not be.
    for i in 0..rec.bin_count() {
        let (name, value) = rec.bin(i);
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        push_text(out, name);
        out.extend_from_slice(b",\"t\":\"");
        out.push(value.letter());
        out.extend_from_slice(b"\",\"v\":");
        match value {
            Value::Nil => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Int(v) => push_int(out, v),
            Value::Double(v) => {
                push_double(out, v);
                push_double_text(out, rec.double_text(Some(i)));
            }
            Value::Str(s) | Value::GeoJson(s) => push_text(out, s),
            Value::Blob {
                blob_type,
                bytes,
                compact,
            } => {
                match rec.blob_text(i) {
                    Some(text) => push_b64_text(out, text),
                    None => push_b64(out, bytes),
                }
                if compact {
                    out.extend_from_slice(b",\"compact\":true");
                }
                if matches!(blob_type, BlobType::List | BlobType::Map) {
                    out.extend_from_slice(b",\"view\":");
                    msgpack_view(out, bytes);
                }
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}

// ---------------------------------------------------------------------------------------
// A readable view of the server's list/map msgpack

const MAX_DEPTH: usize = 64;

/// Appends the decoded view of server msgpack, or `{"invalid_msgpack":true}`.
pub fn msgpack_view(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    let mut pos = 0;
    if view_item(out, bytes, &mut pos, 0).is_none() || pos != bytes.len() {
        out.truncate(start);
        out.extend_from_slice(b"{\"invalid_msgpack\":true}");
    }
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: usize) -> Option<&'a [u8]> {
    let s = bytes.get(*pos..pos.checked_add(n)?)?;
    *pos += n;
    Some(s)
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| acc << 8 | b as u64)
}

/// The length of a container or string, by its msgpack marker (after the marker byte).
fn len_of(bytes: &[u8], pos: &mut usize, width: usize) -> Option<usize> {
    Some(be(take(bytes, pos, width)?) as usize)
}

/// A CDT string/blob: its first byte is the particle type (msgpack written by other
/// means has none: then the bytes are shown as they are).
fn view_particle(out: &mut Vec<u8>, data: &[u8]) {
    match data.split_first() {
        None => out.extend_from_slice(b"\"\""),
        Some((&p, _)) if p > 23 => push_text(out, data),
        Some((3, s)) => push_text(out, s),
        Some((4, b)) => {
            out.extend_from_slice(b"{\"bytes\":");
            push_b64(out, b);
            out.push(b'}');
        }
        Some((23, g)) => {
            out.extend_from_slice(b"{\"geojson\":");
            push_text(out, g);
            out.push(b'}');
        }
        Some((&p, b)) => {
            out.extend_from_slice(b"{\"particle\":");
            push_int(out, p);
            out.extend_from_slice(b",\"b64\":");
            push_b64(out, b);
            out.push(b'}');
        }
    }
}

/// An ext header `c7 00 <flags>` (ordered list/map marker): its flags.
fn ext_flags(bytes: &[u8], pos: usize) -> Option<u8> {
    match bytes.get(pos..pos + 3)? {
        [0xc7, 0x00, flags] => Some(*flags),
        _ => None,
    }
}

/// What a msgpack marker announces, its length fields already read.
enum Head {
    /// A number, nil or boolean: the marker and how many value bytes follow it.
    Scalar(u8, usize),
    Str(usize),
    Bin(usize),
    Array(usize),
    Map(usize),
    /// Ext data length (the type byte follows the header).
    Ext(usize),
}

/// Reads one msgpack header; `None` when it is cut short or is the unused marker 0xc1.
#[inline(always)]
fn head(bytes: &[u8], pos: &mut usize) -> Option<Head> {
    let m = *take(bytes, pos, 1)?.first()?;
    Some(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Head::Scalar(m, 0),
        0xcc..=0xcf => Head::Scalar(m, 1 << (m - 0xcc)),
        0xd0..=0xd3 => Head::Scalar(m, 1 << (m - 0xd0)),
        0xca => Head::Scalar(m, 4),
        0xcb => Head::Scalar(m, 8),
        0xa0..=0xbf => Head::Str((m & 0x1f) as usize),
        0xd9 => Head::Str(len_of(bytes, pos, 1)?),
        0xda => Head::Str(len_of(bytes, pos, 2)?),
        0xdb => Head::Str(len_of(bytes, pos, 4)?),
        0xc4 => Head::Bin(len_of(bytes, pos, 1)?),
        0xc5 => Head::Bin(len_of(bytes, pos, 2)?),
        0xc6 => Head::Bin(len_of(bytes, pos, 4)?),
        0x90..=0x9f => Head::Array((m & 0x0f) as usize),
        0xdc => Head::Array(len_of(bytes, pos, 2)?),
        0xdd => Head::Array(len_of(bytes, pos, 4)?),
        0x80..=0x8f => Head::Map((m & 0x0f) as usize),
        0xde => Head::Map(len_of(bytes, pos, 2)?),
        0xdf => Head::Map(len_of(bytes, pos, 4)?),
        0xd4..=0xd8 => Head::Ext(1 << (m - 0xd4)),
        0xc7 => Head::Ext(len_of(bytes, pos, 1)?),
        0xc8 => Head::Ext(len_of(bytes, pos, 2)?),
        0xc9 => Head::Ext(len_of(bytes, pos, 4)?),
        _ => return None, // 0xc1 is never used
    })
}

fn view_item(out: &mut Vec<u8>, bytes: &[u8], pos: &mut usize, depth: usize) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    match head(bytes, pos)? {
        Head::Scalar(m, size) => {
            let v = take(bytes, pos, size)?;
            match m {
                0x00..=0x7f => push_int(out, m),
                0xe0..=0xff => push_int(out, m as i8),
                0xc0 => out.extend_from_slice(b"null"),
                0xc2 => out.extend_from_slice(b"false"),
                0xc3 => out.extend_from_slice(b"true"),
                0xcc..=0xcf => push_int(out, be(v)),
                0xd0..=0xd3 => {
                    let bits = 8 * v.len() as u32;
                    push_int(out, (be(v) << (64 - bits)) as i64 >> (64 - bits));
                }
                0xca => push_double(out, f32::from_bits(be(v) as u32) as f64),
                _ => push_double(out, f64::from_bits(be(v))),
            }
        }
        Head::Str(n) | Head::Bin(n) => view_particle(out, take(bytes, pos, n)?),
        Head::Array(n) => view_list(out, bytes, pos, n, depth)?,
        Head::Map(n) => view_map(out, bytes, pos, n, depth)?,
        Head::Ext(n) => {
            let ext_type = *take(bytes, pos, 1)?.first()?;
            let data = take(bytes, pos, n)?;
            out.extend_from_slice(b"{\"ext\":");
            push_int(out, ext_type);
            out.extend_from_slice(b",\"b64\":");
            push_b64(out, data);
            out.push(b'}');
        }
    }
    Some(())
}

fn view_list(
    out: &mut Vec<u8>,
    bytes: &[u8],
    pos: &mut usize,
    mut n: usize,
    depth: usize,
) -> Option<()> {
    let flags = if n > 0 { ext_flags(bytes, *pos) } else { None };
    if let Some(flags) = flags {
        *pos += 3;
        n -= 1;
        out.extend_from_slice(b"{\"flags\":");
        push_int(out, flags);
        out.extend_from_slice(b",\"list\":");
    }
    out.push(b'[');
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        view_item(out, bytes, pos, depth + 1)?;
    }
    out.push(b']');
    if flags.is_some() {
        out.push(b'}');
    }
    Some(())
}

/// The text of the CDT string at `pos` (particle byte stripped), if the item is one: only
/// those can be JSON object keys.
fn string_key<'a>(bytes: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let Head::Str(n) = head(bytes, pos)? else {
        return None;
    };
    let data = take(bytes, pos, n)?;
    match data.split_first() {
        Some((3, text)) => Some(text),
        None => Some(data),
        Some((&p, _)) if p > 23 => Some(data),
        _ => None,
    }
}

fn view_map(
    out: &mut Vec<u8>,
    bytes: &[u8],
    pos: &mut usize,
    mut n: usize,
    depth: usize,
) -> Option<()> {
    let mut flags = None;
    if n > 0 {
        if let Some(f) = ext_flags(bytes, *pos) {
            if bytes.get(*pos + 3) == Some(&0xc0) {
                flags = Some(f);
                *pos += 4;
                n -= 1;
            }
        }
    }
    if let Some(f) = flags {
        out.extend_from_slice(b"{\"flags\":");
        push_int(out, f);
        out.extend_from_slice(b",\"map\":");
    }
    // Keys all UTF-8 strings (nearly always): a JSON object. Otherwise the object is taken
    // back and the map shown as [key, value] pairs.
    let (object_at, items_at) = (out.len(), *pos);
    out.push(b'{');
    let mut as_object = true;
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        if !string_key(bytes, pos).is_some_and(|key| push_utf8(out, key)) {
            as_object = false;
            break;
        }
        out.push(b':');
        view_item(out, bytes, pos, depth + 1)?;
    }
    if as_object {
        out.push(b'}');
    } else {
        out.truncate(object_at);
        *pos = items_at;
        out.push(b'[');
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            view_item(out, bytes, pos, depth + 1)?;
            out.push(b',');
            view_item(out, bytes, pos, depth + 1)?;
            out.push(b']');
        }
        out.push(b']');
    }
    if flags.is_some() {
        out.push(b'}');
    }
    Some(())
}

// ---------------------------------------------------------------------------------------
// Reading JSON back: in `json_read`.

#[doc(hidden)]
pub use crate::json_read::both_readings;
pub use crate::json_read::{entity_from_json, JsonEntity};

#[cfg(test)]
mod tests {
    use super::*;

    /// Text of every length with a character that needs care at every place comes out as
    /// serde_json writes it (the fast paths skip only text that needs nothing).
    #[test]
    fn text_matches_serde_json_at_every_length_and_place() {
        for n in 0..40 {
            for special in ["\"", "\\", "\n", "\u{1}", "\u{7f}", "é", "€"] {
                for at in 0..=n {
                    let mut text: String =
                        "abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..n].to_string();
                    text.insert_str(at, special);
                    let mut out = Vec::new();
                    push_text(&mut out, text.as_bytes());
                    let want = serde_json::to_string(&text).unwrap();
                    let got: String = serde_json::from_slice(&out).unwrap();
                    assert_eq!(got, text, "{want}");
                }
            }
            let plain = &"abcdefghijklmnopqrstuvwxyz0123456789ABCD"[..n];
            let mut out = Vec::new();
            push_text(&mut out, plain.as_bytes());
            assert_eq!(out, serde_json::to_string(plain).unwrap().as_bytes());
        }
    }

    /// Doubles are written as ryu writes them (shortest text, `e21` exponents), over the
    /// whole range: powers of ten and their neighbours, subnormals and random bits.
    #[test]
    fn doubles_are_written_as_ryu_writes_them() {
        let mut values = Vec::new();
        for k in -330..=310 {
            let base: f64 = format!("1e{k}").parse().unwrap();
            for m in [1.0, 1.5, 2.0, 9.999999999999999, 3.3333333333333335, 7.0] {
                for d in -3i64..=3 {
                    values.push(f64::from_bits(((base * m).to_bits() as i64 + d) as u64));
                }
            }
        }
        values.extend((1..3000).map(f64::from_bits));
        let mut x = 88172645463325252u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            values.push((x % 1_000_000_000) as f64 / 7.0);
        }
        for v in values.into_iter().filter(|v| v.is_finite()) {
            for v in [v, -v] {
                let mut out = Vec::new();
                push_double(&mut out, v);
                assert_eq!(out, ryu::Buffer::new().format_finite(v).as_bytes());
            }
        }
    }

    fn view(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        msgpack_view(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn server_msgpack_views() {
        assert_eq!(
            view(&[0x92, 0xa2, 0x03, b'a', 0xa2, 0x03, b'b']),
            r#"["a","b"]"#
        );
        assert_eq!(
            view(&[0x94, 0xc7, 0x00, 0x01, 0x01, 0x02, 0x03]),
            r#"{"flags":1,"list":[1,2,3]}"#
        );
        let kv = [
            0x83, 0xc7, 0x00, 0x03, 0xc0, 0xa2, 0x03, b'a', 0x02, 0xa2, 0x03, b'z', 0x01,
        ];
        assert_eq!(view(&kv), r#"{"flags":3,"map":{"a":2,"z":1}}"#);
        assert_eq!(
            view(&[0x82, 0x01, 0xa2, 0x03, b'x', 0xa2, 0x03, b'k', 0xc3]),
            r#"[[1,"x"],["k",true]]"#
        );
        assert_eq!(
            view(&[0x91, 0xc4, 0x03, 0x04, 0x00, 0xff]),
            r#"[{"bytes":"AP8="}]"#
        );
        assert_eq!(
            view(&[0x93, 0xff, 0xd0, 0x80, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
            r#"[-1,-128,1.5]"#
        );
        assert_eq!(view(&[0x94, 0x01]), r#"{"invalid_msgpack":true}"#);
        assert_eq!(view(&[0x91, 0x01, 0x02]), r#"{"invalid_msgpack":true}"#);
    }

    /// Lists of the items the view shows by a shortcut (integers, CDT strings) mixed with
    /// others, each with what it must show, built apart from the view code; and every cut
    /// of such a list is invalid rather than misread.
    #[test]
    fn msgpack_items_show_as_their_values() {
        use serde_json::json;
        let mut x = 88172645463325252u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let n = (next() % 15) as usize;
            let mut bytes = vec![0x90 | n as u8];
            let mut want = Vec::new();
            for _ in 0..n {
                let r = next();
                let v = r >> 8;
                match r % 6 {
                    0 => {
                        bytes.push((v % 128) as u8);
                        want.push(json!(v % 128));
                    }
                    1 => {
                        let width = 1usize << (v % 4);
                        let v = if width == 8 {
                            v
                        } else {
                            v % (1 << (8 * width))
                        };
                        bytes.push(0xcc + width.trailing_zeros() as u8);
                        bytes.extend_from_slice(&v.to_be_bytes()[8 - width..]);
                        want.push(json!(v));
                    }
                    2 | 3 => {
                        let len = (v % 20) as usize;
                        let text: String = (0..len)
                            .map(|i| b"ab\"\\\n xyz\t"[(v as usize >> (i % 8)) % 10] as char)
                            .collect();
                        bytes.push(0xa0 | (len + 1) as u8);
                        bytes.push(3);
                        bytes.extend_from_slice(text.as_bytes());
                        want.push(json!(text));
                    }
                    4 => {
                        bytes.extend_from_slice(&[0xa3, 4, v as u8, (v >> 8) as u8]);
                        let b64 = base64_simd::STANDARD.encode_to_string([v as u8, (v >> 8) as u8]);
                        want.push(json!({ "bytes": b64 }));
                    }
                    _ => {
                        bytes.push(0xe0 | (v % 32) as u8);
                        want.push(json!((v % 32) as i64 - 32));
                    }
                }
            }
            let got: serde_json::Value = serde_json::from_str(&view(&bytes)).unwrap();
            assert_eq!(got, json!(want), "{bytes:02x?}");
            for cut in 1..bytes.len() {
                assert_eq!(view(&bytes[..cut]), r#"{"invalid_msgpack":true}"#);
            }
        }
    }

    #[test]
    fn void_times_as_dates() {
        assert_eq!(void_time_iso(428179113), "2023-07-27T18:38:33Z");
        assert_eq!(void_time_iso(500000000), "2025-11-05T00:53:20Z");
        assert_eq!(void_time_iso(0), "2010-01-01T00:00:00Z");
        assert_eq!(void_time_iso(u32::MAX), "2146-02-07T06:28:15Z");
        // Every field read back gives the same instant (days from the date by a separate
        // formula), over the whole range of void times.
        let days_from_civil = |y: i64, m: i64, d: i64| {
            let y = if m <= 2 { y - 1 } else { y };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
            era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        };
        let mut x = 88172645463325252u64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let void_time = if i < 100 { i as u32 * 86399 } else { x as u32 };
            let iso = void_time_iso(void_time);
            let field = |r: std::ops::Range<usize>| iso[r].parse::<i64>().unwrap();
            assert_eq!(iso.len(), 20, "{iso}");
            assert_eq!(
                (
                    &iso[4..5],
                    &iso[7..8],
                    &iso[10..11],
                    &iso[13..14],
                    &iso[16..17],
                    &iso[19..]
                ),
                ("-", "-", "T", ":", ":", "Z")
            );
            let secs = days_from_civil(field(0..4), field(5..7), field(8..10)) * 86400
                + field(11..13) * 3600
                + field(14..16) * 60
                + field(17..19);
            assert_eq!(secs, (CITRUSLEAF_EPOCH + void_time as u64) as i64, "{iso}");
        }
    }
}

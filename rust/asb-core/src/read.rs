//! Streaming `.asb` reader, as strict as `asrestore`.
//!
//! The parser works on a buffered window of the input. An entity is parsed from the window
//! in one go; when the window ends inside it, the window is refilled (grown if one entity is
//! bigger than it) and the entity is parsed again from its start. Memory is bounded by the
//! largest entity, not by the file.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memchr::{memchr, memchr_iter, memrchr};

use crate::delimit::{find_name_end, is_end, Ends};
use crate::error::{show_byte, Error, Position, Result};
use crate::model::{BlobType, Header, Meta, Record, SecondaryIndex, SpanValue, Udf, Version};
use crate::numbers::{parse_double, parse_i64, parse_u64};

const INITIAL_WINDOW: usize = 1 << 20;
/// Parsed text of a mapped file is given back in steps of this many bytes (a power of 2).
const RELEASE_STEP: usize = 4 << 20;
/// Longest delimiter-terminated token the C reader takes (1000-byte buffer with its NUL).
pub const MAX_TOKEN: usize = 999;
pub const MAX_NAMESPACE: usize = 31;
pub const MAX_SET: usize = 63;
pub const MAX_BIN_NAME: usize = 15;
const MAX_NUMBER: usize = 64;

/// One item of the stream after the header.
#[derive(Debug)]
pub enum Entity<'a> {
    SecondaryIndex(SecondaryIndex),
    Udf(Udf),
    Record(&'a Record),
}

/// Why a parse attempt stopped. Boxed: parse steps return `Result`s of a word or two, in
/// registers, and stopping is rare.
struct Stop(Box<StopKind>);

enum StopKind {
    /// The window ended: this many bytes are needed.
    Need {
        len: usize,
        at: Position,
        what: &'static str,
    },
    /// A real error.
    Fail(Error),
}

impl From<Error> for Stop {
    #[cold]
    fn from(e: Error) -> Stop {
        Stop(Box::new(StopKind::Fail(e)))
    }
}

type PResult<T> = std::result::Result<T, Stop>;

/// Where the C reader ends a field: at SP, at LF, or at either (a const parameter, so each
/// call site gets its own scan loop).
type Delim = u8;
const SPACE: Delim = 0;
const LF: Delim = 1;
const SPACE_OR_LF: Delim = 2;

/// LFs in the stream before the window, and where the line of the window's start began.
#[derive(Clone, Copy, Debug, Default)]
struct LineCount {
    lfs_before: u64,
    line_start_before: u64,
}

impl LineCount {
    /// Accounts for `gone`, the bytes at stream offset `base` leaving the window.
    fn skip(&mut self, gone: &[u8], base: u64) {
        self.lfs_before += memchr_iter(b'\n', gone).count() as u64;
        if let Some(last) = memrchr(b'\n', gone) {
            self.line_start_before = base + last as u64 + 1;
        }
    }

    /// 1-based line and column of `buf[pos]`, `buf` being the window at stream offset `base`.
    fn position(&self, buf: &[u8], base: u64, pos: usize) -> Position {
        let before = &buf[..pos.min(buf.len())];
        let line = self.lfs_before + memchr_iter(b'\n', before).count() as u64 + 1;
        let line_start =
            memrchr(b'\n', before).map_or(self.line_start_before, |i| base + i as u64 + 1);
        let offset = base + pos as u64;
        Position {
            line,
            column: offset - line_start + 1,
            offset,
        }
    }
}

/// Cursor over the window; `base` is the stream offset of `buf[0]`.
///
/// Lines are not tracked while parsing: a position's line and column are computed only when
/// an error needs them, from the LFs counted before the window and those inside it.
struct Cur<'b> {
    buf: &'b [u8],
    pos: usize,
    base: u64,
    lines: LineCount,
    legacy: bool,
    /// The window holds the end of the input.
    at_eof: bool,
    /// Which value text records keep besides the values ([`Reader::keep_double_text`],
    /// [`Reader::keep_b64_text`]).
    keep: KeepText,
}

/// Value text a reader keeps in its records besides the values.
#[derive(Clone, Copy, Debug, Default)]
struct KeepText {
    /// Double text not in C's `%.17g` form.
    doubles: bool,
    /// Canonical base64 of digests and blobs, for writers that would encode it again.
    base64: bool,
}

impl<'b> Cur<'b> {
    /// A double, and its text when it must be kept (not in C's `%.17g` form).
    #[inline]
    fn double_kept(&mut self, what: &'static str) -> PResult<(f64, Option<&'b [u8]>)> {
        let at = self.pos;
        let v = self.double(what)?;
        if !self.keep.doubles {
            return Ok((v, None));
        }
        let text = &self.buf[at..self.pos];
        let same = crate::numbers::is_c_double_text(text, v);
        Ok((v, (!same).then_some(text)))
    }

    fn at_pos(&self, pos: usize) -> Position {
        self.lines.position(self.buf, self.base, pos)
    }

    #[inline]
    fn here(&self) -> Position {
        self.at_pos(self.pos)
    }

    #[cold]
    fn fail<T>(&self, pos: usize, msg: impl Into<String>) -> PResult<T> {
        Err(Error::parse(msg, self.at_pos(pos)).into())
    }

    #[cold]
    fn need<T>(&self, len: usize, what: &'static str) -> PResult<T> {
        Err(Stop(Box::new(StopKind::Need {
            len,
            at: self.here(),
            what,
        })))
    }

    #[inline(always)]
    fn peek(&self, what: &'static str) -> PResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => Ok(b),
            None => self.need(self.pos + 1, what),
        }
    }

    #[inline(always)]
    fn byte(&mut self, what: &'static str) -> PResult<u8> {
        let b = self.peek(what)?;
        self.pos += 1;
        Ok(b)
    }

    /// Consumes the literal `lit`, failing at the first byte that differs.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, lit: &[u8; N], what: &'static str) -> PResult<()> {
        if let Some(next) = self.buf.get(self.pos..self.pos + N) {
            // Fixed-size compare: a few integer compares, no memcmp call.
            if <&[u8; N]>::try_from(next).is_ok_and(|next| next == lit) {
                self.pos += N;
                return Ok(());
            }
        }
        self.lit_slow(lit, what)
    }

    #[cold]
    fn lit_slow(&mut self, lit: &[u8], what: &'static str) -> PResult<()> {
        for &want in lit {
            let got = self.peek(what)?;
            if got != want {
                return self.fail(
                    self.pos,
                    format!(
                        "unexpected {} in {what}, expected {}",
                        show_byte(got),
                        show_byte(want)
                    ),
                );
            }
            self.pos += 1;
        }
        Ok(())
    }

    #[inline(always)]
    fn sp(&mut self, what: &'static str) -> PResult<()> {
        self.lit(b" ", what)
    }

    #[inline(always)]
    fn lf(&mut self, what: &'static str) -> PResult<()> {
        if self.buf.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            return Ok(());
        }
        self.lf_slow(what)
    }

    #[cold]
    fn lf_slow(&mut self, what: &'static str) -> PResult<()> {
        let b = self.peek(what)?;
        self.fail(
            self.pos,
            format!(
                "unexpected {} in {what}, expected end of line",
                show_byte(b)
            ),
        )
    }

    /// Takes `len` raw bytes (which may hold anything, LFs included).
    #[inline(always)]
    fn take(&mut self, len: usize, what: &'static str) -> PResult<&'b [u8]> {
        let end = self.pos + len;
        if end > self.buf.len() {
            // One more byte for the LF that must follow.
            return self.need(end + 1, what);
        }
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// A delimiter-free token (number, type letter run) up to the next SP or LF.
    #[inline]
    fn plain_token(&mut self, what: &'static str) -> PResult<&'b [u8]> {
        let start = self.pos;
        let window_end = self.buf.len().min(start + MAX_NUMBER + 1);
        // Numbers are short: a plain loop beats a SIMD search's setup.
        match self.buf[start..window_end]
            .iter()
            .position(|&c| c == b' ' || c == b'\n')
        {
            Some(n) => {
                self.pos = start + n;
                Ok(&self.buf[start..start + n])
            }
            None if window_end == self.buf.len() && window_end < start + MAX_NUMBER + 1 => {
                self.need(window_end + 1, what)
            }
            None => self.fail(start, format!("{what} is too long")),
        }
    }

    #[inline]
    fn uint(&mut self, max: u64, what: &'static str) -> PResult<u64> {
        // Fast path: up to 19 digits cannot overflow a u64.
        let start = self.pos;
        let mut v = 0u64;
        let mut i = start;
        let end = self.buf.len().min(start + 19);
        while i < end {
            let d = self.buf[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + d as u64;
            i += 1;
        }
        if i > start && i < self.buf.len() && matches!(self.buf[i], b' ' | b'\n') && v <= max {
            self.pos = i;
            return Ok(v);
        }
        self.uint_slow(max, what)
    }

    #[cold]
    fn uint_slow(&mut self, max: u64, what: &'static str) -> PResult<u64> {
        let start = self.pos;
        let t = self.plain_token(what)?;
        match parse_u64(t, max) {
            Some(v) => Ok(v),
            None => {
                // Point at the first byte that is not a digit, as asrestore does.
                let (at, why) = match t.iter().position(|c| !c.is_ascii_digit()) {
                    _ if t.is_empty() => (start, "is empty".to_string()),
                    None => (start, format!("is out of range (at most {max})")),
                    Some(bad) => (
                        start + bad,
                        format!("must be decimal digits, found {}", show_token(t)),
                    ),
                };
                self.fail(at, format!("{what} {why}"))
            }
        }
    }

    #[inline]
    fn int(&mut self, what: &'static str) -> PResult<i64> {
        // Fast path: up to 18 digits cannot overflow an i64.
        let start = self.pos;
        let neg = self.buf.get(start) == Some(&b'-');
        let digits_at = start + neg as usize;
        let mut v = 0i64;
        let mut i = digits_at;
        let end = self.buf.len().min(digits_at + 18);
        while i < end {
            let d = self.buf[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + d as i64;
            i += 1;
        }
        if i > digits_at && i < self.buf.len() && matches!(self.buf[i], b' ' | b'\n') {
            self.pos = i;
            return Ok(if neg { -v } else { v });
        }
        self.int_slow(what)
    }

    #[cold]
    fn int_slow(&mut self, what: &'static str) -> PResult<i64> {
        let start = self.pos;
        let t = self.plain_token(what)?;
        match parse_i64(t) {
            Some(v) => Ok(v),
            None => {
                let digits_at = usize::from(t.first() == Some(&b'-'));
                let bad = t[digits_at..]
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .map_or(0, |b| b + digits_at);
                self.fail(
                    start + bad,
                    format!(
                        "{what} must be a 64-bit signed integer, found {}",
                        show_token(t)
                    ),
                )
            }
        }
    }

    #[inline]
    fn double(&mut self, what: &'static str) -> PResult<f64> {
        // Fast path for what C writes most: [-]digits[.digits] followed by SP or LF.
        let start = self.pos;
        let buf = self.buf;
        let mut i = start + usize::from(buf.get(start) == Some(&b'-'));
        let digits_at = i;
        let mut mantissa = 0u64;
        let mut digits = 0u32;
        let mut frac = 0i32;
        let mut dot = false;
        while let Some(&c) = buf.get(i) {
            match c {
                b'0'..=b'9' => {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add((c - b'0') as u64);
                    digits += 1;
                    frac += i32::from(dot);
                }
                b'.' if !dot => dot = true,
                b' ' | b'\n' if digits > 0 => {
                    let neg = digits_at > start;
                    let v = if digits <= 15 && frac <= 22 {
                        // Both exact in a double: one correctly rounded division (Clinger).
                        mantissa as f64 / crate::numbers::POW10_F64[frac as usize]
                    } else {
                        // SAFETY: checked above to be ASCII digits and at most one '.'.
                        let text = unsafe { std::str::from_utf8_unchecked(&buf[digits_at..i]) };
                        match text.parse::<f64>() {
                            Ok(v) => v,
                            Err(_) => break,
                        }
                    };
                    self.pos = i;
                    return Ok(if neg { -v } else { v });
                }
                _ => break,
            }
            i += 1;
        }
        self.double_slow(what)
    }

    #[cold]
    fn double_slow(&mut self, what: &'static str) -> PResult<f64> {
        let start = self.pos;
        let t = self.plain_token(what)?;
        match parse_double(t) {
            Ok(v) => Ok(v),
            Err(bad) => self.fail(
                start + bad,
                format!("{what} must be a number, found {}", show_token(t)),
            ),
        }
    }

    /// An escaped token (names): ends at an unescaped SP or LF, which is not consumed.
    /// Unescaped bytes are appended to `out`.
    #[inline]
    fn etok<const DELIM: Delim>(
        &mut self,
        out: &mut Vec<u8>,
        max: usize,
        what: &'static str,
    ) -> PResult<()> {
        let start = self.pos;
        // An escaped token of `max` bytes spans at most 2 * max bytes of text.
        let limit = start.saturating_add(2 * max + 1);
        let window_end = self.buf.len().min(limit);
        let window = &self.buf[start..window_end];
        let ends = self.ends(DELIM);
        let found = find_name_end(window, ends);
        match found {
            Some(n) if window[n] != b'\\' => {
                if n > max {
                    return self.fail(start + max, format!("{what} is longer than {max} bytes"));
                }
                append_short(out, window, n);
                self.pos = start + n;
                Ok(())
            }
            Some(_) => self.etok_escaped(out, max, ends, what),
            None if window_end < limit => self.need(window_end + 1, what),
            None => self.fail(start + max, format!("{what} is longer than {max} bytes")),
        }
    }

    #[inline(always)]
    fn ends(&self, delim: Delim) -> Ends {
        Ends {
            space: delim != LF,
            lf: delim != SPACE,
            backslash: !self.legacy,
        }
    }

    fn etok_escaped(
        &mut self,
        out: &mut Vec<u8>,
        max: usize,
        ends: Ends,
        what: &'static str,
    ) -> PResult<()> {
        let start = self.pos;
        let out_start = out.len();
        loop {
            let b = match self.buf.get(self.pos) {
                Some(&b) => b,
                None => {
                    out.truncate(out_start);
                    self.pos = start;
                    return self.need(self.buf.len() + 1, what);
                }
            };
            let at = self.pos;
            match b {
                b'\\' if ends.backslash => {
                    let Some(&next) = self.buf.get(self.pos + 1) else {
                        out.truncate(out_start);
                        self.pos = start;
                        return self.need(self.buf.len() + 1, what);
                    };
                    if next == 0 {
                        // C keeps it, then cuts the name short there: refuse instead.
                        return self.fail(self.pos + 1, format!("NUL byte in {what}"));
                    }
                    out.push(next);
                    self.pos += 2;
                }
                _ if is_end(b, ends) => break,
                _ => {
                    out.push(b);
                    self.pos += 1;
                }
            }
            if out.len() - out_start > max {
                return self.fail(at, format!("{what} is longer than {max} bytes"));
            }
        }
        Ok(())
    }

    /// `len SP bytes`: a length-prefixed raw value.
    #[inline]
    fn sized(&mut self, what: &'static str) -> PResult<&'b [u8]> {
        let len = self.uint(u32::MAX as u64, what)? as usize;
        self.sp(what)?;
        self.take(len, what)
    }

    /// `b64len SP base64`: decoded into `out`; the text is returned.
    #[inline]
    fn b64sized(&mut self, out: &mut Vec<u8>, what: &'static str) -> PResult<&'b [u8]> {
        let len_at = self.pos;
        let len = self.uint(u32::MAX as u64, what)? as usize;
        if !len.is_multiple_of(4) {
            return self.fail(
                len_at,
                format!("{what}: base64 length {len} is not a multiple of 4"),
            );
        }
        self.sp(what)?;
        let at = self.pos;
        let text = self.take(len, what)?;
        let before = out.len();
        if let Err(bad) = crate::b64::decode_append(text, out) {
            out.truncate(before);
            return self.fail(
                at + bad.min(len.saturating_sub(1)),
                format!("{what}: invalid base64"),
            );
        }
        Ok(text)
    }
}

/// Appends `bytes`; up to 32 of them with two overlapping word copies instead of a call to
/// memcpy, which costs more than the copy for the short names and values records are full of.
#[inline(always)]
pub(crate) fn append_small(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n < 4 {
        out.reserve(n);
        for &b in bytes {
            out.push(b);
        }
        return;
    }
    if n > 32 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(n);
    let len = out.len();
    // SAFETY: `n` bytes are reserved after `len`; every load and store stays inside `bytes`
    // and that reserved range (the two copies overlap when n < 16 or n < 8).
    unsafe {
        let (src, dst) = (bytes.as_ptr(), out.as_mut_ptr().add(len));
        if n > 16 {
            let head = src.cast::<u128>().read_unaligned();
            let tail = src.add(n - 16).cast::<u128>().read_unaligned();
            dst.cast::<u128>().write_unaligned(head);
            dst.add(n - 16).cast::<u128>().write_unaligned(tail);
        } else if n >= 8 {
            let head = src.cast::<u64>().read_unaligned();
            let tail = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(head);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else {
            let head = src.cast::<u32>().read_unaligned();
            let tail = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(head);
            dst.add(n - 4).cast::<u32>().write_unaligned(tail);
        }
        out.set_len(len + n);
    }
}

/// Appends `src[..n]`. Short names are copied as one 16-byte block when `src` has that
/// many bytes, which beats a memcpy call for a few bytes.
#[inline(always)]
pub(crate) fn append_short(out: &mut Vec<u8>, src: &[u8], n: usize) {
    if n <= 16 && src.len() >= 16 {
        out.reserve(16);
        let len = out.len();
        // SAFETY: 16 bytes are readable in `src` and reserved in `out`; only `n` are kept.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), out.as_mut_ptr().add(len), 16);
            out.set_len(len + n);
        }
    } else {
        out.extend_from_slice(&src[..n]);
    }
}

fn show_token(t: &[u8]) -> String {
    if t.is_empty() {
        return "nothing".to_string();
    }
    let shown: String = t
        .iter()
        .take(40)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
        .collect();
    format!("\"{shown}\"")
}

/// The text the reader parses: a window it fills from its source, or a mapped file.
enum Window {
    Owned(Vec<u8>),
    /// A whole mapped file, from a byte offset on: nothing to read, nothing to copy.
    Mapped(Arc<memmap2::Mmap>, usize),
}

impl std::ops::Deref for Window {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Window::Owned(v) => v,
            Window::Mapped(map, at) => &map[*at..],
        }
    }
}

/// Reads `.asb` text from any byte stream, or from a mapped file.
pub struct Reader<R> {
    src: R,
    data: Window,
    /// Mapped text counted as read so far, and where to count it (progress reports).
    counted: u64,
    counter: Option<Arc<AtomicU64>>,
    /// Bytes at the start of a mapped file whose pages were given back.
    released: usize,
    keep: KeepText,
    end: usize,
    pos: usize,
    eof: bool,
    base: u64,
    lines: LineCount,
    header: Header,
    record: Record,
    last_entity_len: u64,
    path: Option<String>,
}

/// Windows of dropped readers, kept for the next reader of the same thread: a fresh
/// megabyte costs page faults, which show when files are read in many pieces.
mod window_pool {
    use std::cell::RefCell;

    const KEEP: usize = 2;
    const KEEP_UP_TO: usize = 16 << 20;

    thread_local! {
        static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A window of at least the initial size (its bytes are stale: only what is read counts).
    pub(super) fn take() -> Vec<u8> {
        POOL.with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| vec![0; super::INITIAL_WINDOW])
    }

    pub(super) fn give(window: Vec<u8>) {
        if window.len() <= KEEP_UP_TO {
            POOL.with(|p| {
                let mut p = p.borrow_mut();
                if p.len() < KEEP {
                    p.push(window);
                }
            });
        }
    }
}

/// Drops the pages of `map[from..to]` from this process (`from` is page-aligned).
fn release(map: &memmap2::Mmap, from: usize, to: usize) {
    const PAGE: usize = 4096;
    let to = to & !(PAGE - 1);
    if to > from {
        // SAFETY: the map is read-only and backed by a file: dropped pages are read again
        // from the file if touched.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
}

impl<R> Drop for Reader<R> {
    fn drop(&mut self) {
        if let Window::Mapped(map, at) = &self.data {
            release(map, self.released, at + self.pos);
        }
        if let Window::Owned(v) = std::mem::replace(&mut self.data, Window::Owned(Vec::new())) {
            window_pool::give(v);
        }
    }
}

impl<R: Read> Reader<R> {
    /// Reads and checks the header and meta lines.
    pub fn new(src: R) -> Result<Reader<R>> {
        Reader::with_path(src, None)
    }

    /// As [`Reader::new`]; errors will name `path`.
    pub fn with_path(src: R, path: Option<String>) -> Result<Reader<R>> {
        let mut reader = Reader::headless(src, Header::default(), 0, path);
        let header = reader.parse_step(false, parse_header)?;
        reader.header = header.expect("header parse reports end of file itself");
        Ok(reader)
    }

    /// A reader for the entities that start at stream offset `base` (a record boundary
    /// found after the header of a file read elsewhere). Lines count from `base`: line 1
    /// is the line that starts there (see [`Reader::lines_read`]).
    pub fn headless(src: R, header: Header, base: u64, path: Option<String>) -> Reader<R> {
        Reader::over(src, Window::Owned(window_pool::take()), header, base, path)
    }

    /// A reader of the text in `data`, which starts at stream offset `base`.
    fn over(src: R, data: Window, header: Header, base: u64, path: Option<String>) -> Reader<R> {
        Reader {
            src,
            data,
            counted: base,
            counter: None,
            released: 0,
            keep: KeepText::default(),
            end: 0,
            pos: 0,
            eof: false,
            base,
            lines: LineCount {
                lfs_before: 0,
                line_start_before: base,
            },
            header,
            record: Record::new(),
            last_entity_len: 0,
            path,
        }
    }

    /// A reader of a mapped file: from its header when `header` is `None`, else (as
    /// [`Reader::headless`]) from the record boundary `start`. `counter` gets the text read,
    /// a megabyte at a time.
    pub fn mapped(
        src: R,
        map: Arc<memmap2::Mmap>,
        start: u64,
        header: Option<Header>,
        path: Option<String>,
        counter: Option<Arc<AtomicU64>>,
    ) -> Result<Reader<R>> {
        let end = map.len() - start as usize;
        let at = start as usize;
        let read_header = header.is_none();
        let header = header.unwrap_or_default();
        let mut reader = Reader::over(src, Window::Mapped(map, at), header, start, path);
        // The whole file is there: nothing is ever read.
        reader.end = end;
        reader.eof = true;
        reader.counter = counter;
        reader.released = at & !(RELEASE_STEP - 1);
        if read_header {
            let header = reader.parse_step(false, parse_header)?;
            reader.header = header.expect("header parse reports end of file itself");
        }
        Ok(reader)
    }

    /// Records keep double text that is not C's `%.17g` (Go writes shortest forms such as
    /// `0.1` or `+Inf`), so that writing them gives the same text back.
    pub fn keep_double_text(&mut self, keep: bool) {
        self.keep.doubles = keep;
    }

    /// Records keep the base64 text of their digest and blobs when it is canonical (as the
    /// C tools write it), so that a JSON writer copies it instead of encoding the bytes again.
    pub fn keep_b64_text(&mut self, keep: bool) {
        self.keep.base64 = keep;
    }

    /// Lines ended (LFs) between where reading began and the current position.
    pub fn lines_read(&self) -> u64 {
        self.lines.lfs_before + memchr_iter(b'\n', &self.data[..self.pos]).count() as u64
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Bytes of decoded text consumed so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Where the next entity starts.
    pub fn position(&self) -> Position {
        self.lines
            .position(&self.data[..self.end], self.base, self.pos)
    }

    /// Line and column of a stream offset that is still in the window (the start of the
    /// entity last returned always is); the current position otherwise.
    pub fn position_of(&self, offset: u64) -> Position {
        match offset.checked_sub(self.base) {
            Some(rel) if rel as usize <= self.end => {
                self.lines
                    .position(&self.data[..self.end], self.base, rel as usize)
            }
            _ => self.position(),
        }
    }

    /// Text size in bytes of the entity last returned.
    pub fn last_entity_len(&self) -> u64 {
        self.last_entity_len
    }

    /// The next index, UDF or record; `None` at a clean end of the stream.
    pub fn next_entity(&mut self) -> Result<Option<Entity<'_>>> {
        let legacy = self.header.version.is_legacy();
        let parsed = self.parse_step(true, |cur, rec| parse_entity(cur, rec, legacy));
        if let Window::Mapped(..) = self.data {
            if let Some(counter) = &self.counter {
                // At an error, the whole mapping was read (a truncated file is all there).
                let now = if parsed.is_err() {
                    self.base + self.end as u64
                } else {
                    self.offset()
                };
                if now - self.counted >= 1 << 20 || !matches!(parsed, Ok(Some(_))) {
                    counter.fetch_add(now.saturating_sub(self.counted), Ordering::Relaxed);
                    self.counted = now;
                }
            }
            if parsed.is_ok() {
                self.release_parsed();
            }
        }
        let parsed = parsed?;
        Ok(match parsed {
            None => None,
            Some(Parsed::Record) => Some(Entity::Record(&self.record)),
            Some(Parsed::SecondaryIndex(s)) => Some(Entity::SecondaryIndex(s)),
            Some(Parsed::Udf(u)) => Some(Entity::Udf(u)),
        })
    }

    /// Gives back the pages of a mapped file already parsed, so memory stays flat on huge
    /// files (they stay in the page cache). The window then starts after them, as an owned
    /// window does after a refill: lines are counted once, and positions of the entity last
    /// returned stay at hand.
    fn release_parsed(&mut self) {
        let Window::Mapped(map, at) = &self.data else {
            return;
        };
        let (map, at) = (map.clone(), *at);
        let entity_start = self.pos - self.last_entity_len as usize;
        let done = (at + entity_start) & !(RELEASE_STEP - 1);
        if done < self.released + RELEASE_STEP {
            return;
        }
        let shift = done - at;
        self.lines.skip(&self.data[..shift], self.base);
        release(&map, self.released, done);
        self.released = done;
        self.data = Window::Mapped(map, done);
        self.base += shift as u64;
        self.pos -= shift;
        self.end -= shift;
    }

    /// The record last returned by [`Reader::next_entity`].
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// Takes the record last returned, leaving `spare` (whose buffers the reader reuses)
    /// in its place: cheaper than cloning it.
    pub fn swap_record(&mut self, spare: &mut Record) {
        std::mem::swap(&mut self.record, spare);
    }

    fn parse_step<T>(
        &mut self,
        eof_ok: bool,
        mut parse: impl FnMut(&mut Cur<'_>, &mut Record) -> PResult<T>,
    ) -> Result<Option<T>> {
        loop {
            if self.pos == self.end {
                if !self.eof {
                    self.fill(1)?;
                    continue;
                }
                if eof_ok {
                    return Ok(None);
                }
            }
            let mut cur = Cur {
                buf: &self.data[..self.end],
                pos: self.pos,
                base: self.base,
                lines: self.lines,
                legacy: self.header.version.is_legacy(),
                at_eof: self.eof,
                keep: self.keep,
            };
            match parse(&mut cur, &mut self.record) {
                Ok(v) => {
                    self.last_entity_len = (cur.pos - self.pos) as u64;
                    self.pos = cur.pos;
                    return Ok(Some(v));
                }
                Err(Stop(stop)) => match *stop {
                    StopKind::Fail(e) => return Err(self.located(e)),
                    StopKind::Need { len, at, what } => {
                        if self.eof {
                            let e = Error::parse(format!("unexpected end of file in {what}"), at);
                            return Err(self.located(e));
                        }
                        self.fill(len - self.pos)?;
                    }
                },
            }
        }
    }

    /// After a parse error at `error_at`: skips to the next line that starts like an entity
    /// (`+ k `, `+ n `, `* i `, `* u `, `* e `)
    /// so reading can go on. Values may hold such lines too, so what follows can fail again
    /// (or, rarely, be a value's bytes read as an entity); `false` at the end of the input.
    pub fn resync(&mut self, error_at: u64) -> Result<bool> {
        // An LF followed by an entity start; the search goes on from `from`.
        let after_error = error_at.saturating_sub(self.base) as usize;
        let mut from = after_error.max(self.pos + 1).min(self.end);
        loop {
            match memchr(b'\n', &self.data[from..self.end]) {
                Some(i) => {
                    let at = from + i + 1;
                    if at + 4 <= self.end {
                        if matches!(
                            &self.data[at..at + 4],
                            b"+ k " | b"+ n " | b"* i " | b"* u " | b"* e "
                        ) {
                            self.pos = at;
                            return Ok(true);
                        }
                        from = at;
                        continue;
                    }
                    if self.eof {
                        self.pos = self.end;
                        return Ok(false);
                    }
                    self.pos = at - 1; // keep the LF, read what follows it
                }
                None if self.eof => {
                    self.pos = self.end;
                    return Ok(false);
                }
                None => self.pos = self.end,
            }
            let kept = self.end - self.pos;
            self.fill(kept + 4)?;
            from = self.pos;
            if self.pos == self.end && self.eof {
                return Ok(false);
            }
        }
    }

    fn located(&self, e: Error) -> Error {
        match &self.path {
            Some(p) => e.with_path(p.clone()),
            None => e,
        }
    }

    /// Keeps the unparsed tail, then reads until at least `need` unparsed bytes are present
    /// (or the source ends).
    fn fill(&mut self, need: usize) -> Result<()> {
        let Window::Owned(data) = &mut self.data else {
            self.eof = true; // a mapped file is all there
            return Ok(());
        };
        if self.pos > 0 {
            self.lines.skip(&data[..self.pos], self.base);
            data.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.base += self.pos as u64;
            self.pos = 0;
        }
        while self.end < need || self.end < data.len() / 2 {
            if self.end == data.len() {
                // Grow only when full: a length declared in the text must not allocate memory
                // before the input has the bytes.
                let grown = data.len() * 2;
                data.resize(grown, 0);
            }
            let n = match self.src.read(&mut data[self.end..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let e = Error::from(e).with_position_if_missing(self.position());
                    return Err(self.located(e));
                }
            };
            if n == 0 {
                self.eof = true;
                break;
            }
            self.end += n;
            if self.end >= need {
                break;
            }
        }
        Ok(())
    }
}

enum Parsed {
    Record,
    SecondaryIndex(SecondaryIndex),
    Udf(Udf),
}

fn parse_header(cur: &mut Cur<'_>, _: &mut Record) -> PResult<Header> {
    cur.lit(
        b"Version ",
        "the header (a backup starts with \"Version 3.1\")",
    )?;
    let at = cur.pos;
    let v = cur.take(3, "the header version")?;
    let version = match Version::parse(v) {
        Some(v) => v,
        None => {
            return cur.fail(
                at,
                format!(
                    "unsupported backup file version {} (3.0 to 3.3 are known)",
                    show_token(v)
                ),
            )
        }
    };
    cur.lf("the header")?;
    cur.legacy = version.is_legacy();
    let mut meta = Vec::new();
    loop {
        match cur.buf.get(cur.pos) {
            Some(b'#') => {}
            Some(_) => break,
            None if cur.at_eof => break,
            // Another meta line may follow: look before deciding.
            None => return cur.need(cur.pos + 1, "meta data"),
        }
        cur.lit(b"# ", "a meta data line")?;
        let start = cur.pos;
        let window_end = cur.buf.len().min(start + MAX_TOKEN + 1);
        let Some(n) = memchr(b'\n', &cur.buf[start..window_end]) else {
            if window_end == cur.buf.len() && window_end < start + MAX_TOKEN + 1 {
                return cur.need(window_end + 1, "a meta data line");
            }
            return cur.fail(start, "meta data line is too long");
        };
        let line = &cur.buf[start..start + n];
        if let Some(nul) = memchr(0, line) {
            return cur.fail(start + nul, "NUL byte in a meta data line");
        }
        if line == b"first-file" {
            meta.push(Meta::FirstFile);
        } else if line.starts_with(b"namespace") {
            // The C reader takes any line that starts with "namespace" (it looks at the rest
            // only for --namespace); the usual form gives the value, others are kept as read.
            let mut ns = Vec::new();
            let mut value = Cur {
                buf: &cur.buf[..start + n + 1],
                pos: start + b"namespace ".len(),
                base: cur.base,
                lines: cur.lines,
                legacy: cur.legacy,
                at_eof: true,
                keep: KeepText::default(),
            };
            let canonical = line.starts_with(b"namespace ")
                && value
                    .etok::<SPACE_OR_LF>(&mut ns, MAX_NAMESPACE, "the namespace")
                    .is_ok()
                && value.pos == start + n;
            meta.push(if canonical {
                Meta::Namespace(ns)
            } else {
                Meta::Other(line.to_vec())
            });
        } else {
            return cur.fail(
                start,
                format!(
                    "unknown meta data line {}, expected \"namespace <ns>\" or \"first-file\"",
                    show_token(line)
                ),
            );
        }
        cur.pos = start + n;
        cur.lf("a meta data line")?;
    }
    Ok(Header { version, meta })
}

fn parse_entity(cur: &mut Cur<'_>, rec: &mut Record, legacy: bool) -> PResult<Parsed> {
    match cur.peek("an entity")? {
        b'+' => parse_record(cur, rec).map(|()| Parsed::Record),
        b'*' if legacy => cur.fail(
            cur.pos,
            "index and UDF lines (\"*\") are not allowed in a version 3.0 file",
        ),
        b'*' => parse_global(cur),
        b => cur.fail(
            cur.pos,
            format!(
                "invalid start character {} of an entity, expected \"+\" (record) or \"*\" (index or UDF)",
                show_byte(b)
            ),
        ),
    }
}

fn parse_record(cur: &mut Cur<'_>, rec: &mut Record) -> PResult<()> {
    rec.clear();
    cur.lit(b"+ ", "a record")?;
    if cur.peek("a record")? == b'k' {
        parse_key(cur, rec)?;
        cur.lit(b"+ ", "a record")?;
    }
    cur.lit(b"n ", "the record's namespace line (\"+ n\")")?;
    let span = into_record(rec, |d| cur.etok::<LF>(d, MAX_NAMESPACE, "the namespace"))?;
    rec.set_namespace_span(span);
    cur.lf("the namespace line")?;

    cur.lit(b"+ d ", "the digest line (\"+ d\")")?;
    let at = cur.pos;
    let text = cur.take(28, "the digest")?;
    let Some(digest) = crate::b64::decode_digest(text) else {
        let why = "the digest must be 28 base64 characters encoding 20 bytes";
        return match text.iter().position(|&c| c == b'\n') {
            // Too short: the line ends inside the 28 characters.
            Some(lf) => cur.fail(at + lf, format!("{why}, found {lf}")),
            // Which error this is depends on the next byte: read it even at the window's end.
            None if text[27] != b'=' && cur.pos == cur.buf.len() && !cur.at_eof => {
                cur.need(cur.pos + 1, "the digest line")
            }
            None if text[27] != b'=' && cur.buf.get(cur.pos).is_some_and(|&c| c != b'\n') => {
                cur.fail(cur.pos, format!("{why}; expected end of line here"))
            }
            None => cur.fail(at, why),
        };
    };
    rec.digest = digest;
    if cur.keep.base64 {
        rec.keep_digest_text(text.try_into().expect("28 bytes"));
    }
    cur.lf("the digest line")?;

    cur.lit(b"+ ", "a record")?;
    if cur.peek("a record")? == b's' {
        cur.lit(b"s ", "the set line")?;
        let span = into_record(rec, |d| cur.etok::<LF>(d, MAX_SET, "the set name"))?;
        rec.set_set_span(span);
        cur.lf("the set line")?;
        cur.lit(b"+ ", "a record")?;
    }
    cur.lit(b"g ", "the generation line (\"+ g\")")?;
    rec.generation = cur.uint(u16::MAX as u64, "the generation")? as u16;
    cur.lf("the generation line")?;
    cur.lit(b"+ t ", "the expiration line (\"+ t\")")?;
    rec.void_time = cur.uint(u32::MAX as u64, "the expiration (void time)")? as u32;
    cur.lf("the expiration line")?;
    cur.lit(b"+ b ", "the bin count line (\"+ b\")")?;
    let bins = cur.uint(u16::MAX as u64, "the bin count")?;
    cur.lf("the bin count line")?;
    for _ in 0..bins {
        parse_bin(cur, rec)?;
    }
    Ok(())
}

/// Runs a parser step that appends to the record's buffer and returns the span it wrote.
#[inline]
fn into_record(
    rec: &mut Record,
    step: impl FnOnce(&mut Vec<u8>) -> PResult<()>,
) -> PResult<(u32, u32)> {
    let data = rec.data_mut();
    let start = data.len() as u32;
    step(data)?;
    Ok((start, data.len() as u32))
}

fn parse_key(cur: &mut Cur<'_>, rec: &mut Record) -> PResult<()> {
    cur.lit(b"k ", "the key line")?;
    let at = cur.pos;
    let t = cur.byte("the key type")?;
    match t {
        b'I' => {
            cur.sp("the key line")?;
            let v = cur.int("the integer key")?;
            rec.set_key_int(v);
        }
        b'D' => {
            cur.sp("the key line")?;
            let (v, text) = cur.double_kept("the double key")?;
            rec.set_key_double(v);
            if let Some(text) = text {
                rec.set_double_text(None, text);
            }
        }
        b'S' => {
            cur.sp("the key line")?;
            let v = cur.sized("the string key")?;
            let span = into_record(rec, |d| {
                d.extend_from_slice(v);
                Ok(())
            })?;
            rec.set_key_str_span(span);
        }
        b'X' => {
            cur.sp("the key line")?;
            let span = into_record(rec, |d| cur.b64sized(d, "the base64 string key").map(drop))?;
            rec.set_key_str_span(span);
        }
        b'B' => {
            if cur.peek("the key line")? == b'!' {
                cur.pos += 1;
                cur.sp("the key line")?;
                let v = cur.sized("the bytes key")?;
                let span = into_record(rec, |d| {
                    d.extend_from_slice(v);
                    Ok(())
                })?;
                rec.set_key_bytes_span(span, true);
            } else {
                cur.sp("the key line")?;
                let span = into_record(rec, |d| cur.b64sized(d, "the bytes key").map(drop))?;
                rec.set_key_bytes_span(span, false);
            }
        }
        other => {
            return cur.fail(
                at,
                format!(
                    "invalid key type {}, expected one of I D S X B",
                    show_byte(other)
                ),
            )
        }
    }
    cur.lf("the key line")
}

fn parse_bin(cur: &mut Cur<'_>, rec: &mut Record) -> PResult<()> {
    cur.lit(b"- ", "a bin line (\"- \")")?;
    let at = cur.pos;
    let letter = cur.byte("the bin type")?;
    let compact = if cur.peek("the bin line")? == b'!' {
        cur.pos += 1;
        true
    } else {
        false
    };
    let blob_type = BlobType::from_letter(letter);
    match letter {
        b'N' | b'Z' | b'I' | b'D' | b'S' | b'X' | b'G' => {}
        _ if blob_type.is_some() => {}
        b'U' => return cur.fail(
            at,
            "bin type \"U\" is an LDT (large data type) bin: LDTs were removed from Aerospike; \
                 restore this backup with an older tool",
        ),
        _ => {
            return cur.fail(
                at,
                format!(
                    "invalid bin type {}, expected one of N Z I D S X G B J C P R H E Y M L",
                    show_byte(letter)
                ),
            )
        }
    }
    cur.sp("the bin line")?;
    let name = into_record(rec, |d| {
        cur.etok::<SPACE_OR_LF>(d, MAX_BIN_NAME, "the bin name")
    })?;
    let value = match letter {
        b'N' => SpanValue::Nil,
        b'Z' => {
            cur.sp("the boolean bin")?;
            let vat = cur.pos;
            match cur.byte("the boolean value")? {
                b'T' => SpanValue::Bool(true),
                b'F' => SpanValue::Bool(false),
                b => {
                    return cur.fail(
                        vat,
                        format!("invalid boolean {}, expected \"T\" or \"F\"", show_byte(b)),
                    )
                }
            }
        }
        b'I' => {
            cur.sp("the integer bin")?;
            SpanValue::Int(cur.int("the integer value")?)
        }
        b'D' => {
            cur.sp("the double bin")?;
            let (v, text) = cur.double_kept("the double value")?;
            if let Some(text) = text {
                rec.set_double_text(Some(rec.bin_count()), text);
            }
            SpanValue::Double(v)
        }
        b'S' | b'G' => {
            cur.sp("the bin line")?;
            let v = cur.sized("the string value")?;
            let span = into_record(rec, |d| {
                append_small(d, v);
                Ok(())
            })?;
            if letter == b'S' {
                SpanValue::Str(span)
            } else {
                SpanValue::GeoJson(span)
            }
        }
        b'X' => {
            cur.sp("the bin line")?;
            SpanValue::Str(into_record(rec, |d| {
                cur.b64sized(d, "the base64 string value").map(drop)
            })?)
        }
        _ => {
            let blob_type = blob_type.expect("checked above");
            cur.sp("the bin line")?;
            let mut text_follows = false;
            let span = if compact {
                let v = cur.sized("the raw blob value")?;
                into_record(rec, |d| {
                    d.extend_from_slice(v);
                    Ok(())
                })?
            } else {
                let data = rec.data_mut();
                let start = data.len() as u32;
                let text = cur.b64sized(data, "the blob value")?;
                let end = data.len() as u32;
                // Kept right after the bytes, where Record::blob_text finds it.
                if cur.keep.base64 && crate::b64::is_canonical(text) {
                    append_small(data, text);
                    text_follows = true;
                }
                (start, end)
            };
            SpanValue::Blob(blob_type, compact, text_follows, span)
        }
    };
    cur.lf("the bin line")?;
    rec.push_bin_spans(name, value);
    Ok(())
}

fn parse_global(cur: &mut Cur<'_>) -> PResult<Parsed> {
    cur.lit(b"* ", "an index or UDF line")?;
    let at = cur.pos;
    match cur.byte("an index or UDF line")? {
        b'i' => parse_sindex(cur, false).map(Parsed::SecondaryIndex),
        b'e' => parse_sindex(cur, true).map(Parsed::SecondaryIndex),
        b'u' => parse_udf(cur).map(Parsed::Udf),
        b => cur.fail(
            at,
            format!(
                "invalid global line type {}, expected \"i\" (index) or \"u\" (UDF)",
                show_byte(b)
            ),
        ),
    }
}

fn parse_sindex(cur: &mut Cur<'_>, expression_index: bool) -> PResult<SecondaryIndex> {
    let mut namespace = Vec::new();
    let mut set = Vec::new();
    let mut name = Vec::new();
    cur.sp("the index line")?;
    cur.etok::<SPACE>(&mut namespace, MAX_NAMESPACE, "the index namespace")?;
    cur.sp("the index line")?;
    cur.etok::<SPACE>(&mut set, MAX_SET, "the index set")?;
    cur.sp("the index line")?;
    cur.etok::<SPACE>(&mut name, MAX_TOKEN, "the index name")?;
    cur.sp("the index line")?;
    let at = cur.pos;
    let index_type = cur.byte("the index type")?;
    if !b"NLKVS".contains(&index_type) {
        return cur.fail(
            at,
            format!(
                "invalid index type {}, expected one of N L K V",
                show_byte(index_type)
            ),
        );
    }
    cur.sp("the index line")?;
    let at = cur.pos;
    let npaths = cur.uint(u16::MAX as u64, "the index path count")?;
    if npaths == 0 {
        return cur.fail(at, "an index needs at least one path");
    }
    let mut paths = Vec::with_capacity(npaths as usize);
    for _ in 0..npaths {
        let mut path = Vec::new();
        cur.sp("the index line")?;
        cur.etok::<SPACE>(&mut path, MAX_TOKEN, "the index path")?;
        cur.sp("the index line")?;
        let at = cur.pos;
        let ptype = cur.byte("the index path type")?;
        if !b"SNGBE".contains(&ptype) {
            return cur.fail(
                at,
                format!(
                    "invalid index path type {}, expected one of S N G B",
                    show_byte(ptype)
                ),
            );
        }
        paths.push((path, ptype));
    }
    let mut context = None;
    let mut expression = None;
    if expression_index {
        cur.sp("the expression index line")?;
        let start = cur.pos;
        match memchr(b'\n', &cur.buf[start..]) {
            Some(n) => {
                expression = Some(cur.buf[start..start + n].to_vec());
                cur.pos += n;
            }
            None => return cur.need(cur.buf.len() + 1, "the index expression"),
        }
    } else if cur.peek("the index line")? == b' ' {
        cur.pos += 1;
        let mut ctx = Vec::new();
        cur.etok::<LF>(&mut ctx, usize::MAX / 4, "the index context")?;
        context = Some(ctx);
    }
    cur.lf("the index line")?;
    Ok(SecondaryIndex {
        namespace,
        set,
        name,
        index_type,
        paths,
        context,
        expression,
    })
}

fn parse_udf(cur: &mut Cur<'_>) -> PResult<Udf> {
    cur.sp("the UDF line")?;
    let at = cur.pos;
    let udf_type = cur.byte("the UDF type")?;
    if udf_type != b'L' {
        return cur.fail(
            at,
            format!(
                "invalid UDF type {}, expected \"L\" (Lua)",
                show_byte(udf_type)
            ),
        );
    }
    cur.sp("the UDF line")?;
    let mut name = Vec::new();
    cur.etok::<SPACE>(&mut name, MAX_TOKEN, "the UDF file name")?;
    cur.sp("the UDF line")?;
    let content = cur.sized("the UDF content")?.to_vec();
    cur.lf("the UDF line")?;
    Ok(Udf {
        udf_type,
        name,
        content,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_appends_copy_exactly_at_every_length() {
        let src: Vec<u8> = (0..48u8).map(|b| b.wrapping_mul(37)).collect();
        for start in 0..4 {
            for n in 0..=40 {
                let bytes = &src[start..start + n];
                let mut out = b"prefix".to_vec();
                super::append_small(&mut out, bytes);
                assert_eq!(&out[..6], b"prefix");
                assert_eq!(&out[6..], bytes, "length {n}");
            }
        }
    }
}

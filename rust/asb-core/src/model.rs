//! The entities of an `.asb` file.
//!
//! A [`Record`] keeps all of its variable-length bytes (names, strings, blobs) in one
//! reusable buffer, so reading a stream of records allocates nothing once warmed up.

use std::ops::Range;

/// Header version (`Version 3.x`). 3.0 is legacy: no escaping and no global lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub minor: u8,
}

/// The version asbackup writes.
impl Default for Version {
    fn default() -> Version {
        Version::V3_1
    }
}

impl Version {
    pub const V3_0: Version = Version { minor: 0 };
    pub const V3_1: Version = Version { minor: 1 };
    pub const V3_2: Version = Version { minor: 2 };
    pub const V3_3: Version = Version { minor: 3 };

    pub fn is_legacy(self) -> bool {
        self.minor == 0
    }

    /// Every version known, oldest first.
    pub const KNOWN: [Version; 4] = [Version::V3_0, Version::V3_1, Version::V3_2, Version::V3_3];

    pub fn as_str(self) -> &'static str {
        match self.minor {
            0 => "3.0",
            1 => "3.1",
            2 => "3.2",
            _ => "3.3",
        }
    }

    /// `3.0` to `3.3`, as headers write them.
    pub fn parse(text: &[u8]) -> Option<Version> {
        Version::KNOWN
            .into_iter()
            .find(|v| v.as_str().as_bytes() == text)
    }
}

/// One `#` line after the header, kept in file order so a file writes back identically.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Meta {
    Namespace(Vec<u8>),
    FirstFile,
    /// A line the C reader accepts but that does not carry a namespace in the usual form
    /// (`# namespace` followed by more than one token, say); kept byte for byte.
    Other(Vec<u8>),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub version: Version,
    pub meta: Vec<Meta>,
}

impl Header {
    /// The header C `asbackup` writes: version 3.1, namespace, and `first-file` when asked.
    pub fn new(namespace: &[u8], first_file: bool) -> Header {
        let mut meta = vec![Meta::Namespace(namespace.to_vec())];
        if first_file {
            meta.push(Meta::FirstFile);
        }
        Header {
            version: Version::V3_1,
            meta,
        }
    }

    pub fn namespace(&self) -> Option<&[u8]> {
        self.meta.iter().find_map(|m| match m {
            Meta::Namespace(ns) => Some(ns.as_slice()),
            Meta::FirstFile | Meta::Other(_) => None,
        })
    }

    pub fn first_file(&self) -> bool {
        self.meta.iter().any(|m| matches!(m, Meta::FirstFile))
    }
}

/// Secondary index definition (`* i`, or Go's expression index `* e`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryIndex {
    pub namespace: Vec<u8>,
    pub set: Vec<u8>,
    pub name: Vec<u8>,
    /// `N` bin, `L` list elements, `K` map keys, `V` map values, `S` set index (Go 3.3).
    pub index_type: u8,
    /// (bin name, path type) pairs; path type `S`, `N`, `G`, `B` (or `E` for set indexes).
    pub paths: Vec<(Vec<u8>, u8)>,
    /// Base64 CDT context, written after the paths when present.
    pub context: Option<Vec<u8>>,
    /// Base64 expression of a Go `* e` line; `Some` makes this an expression index.
    pub expression: Option<Vec<u8>>,
}

/// A UDF module (`* u`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udf {
    /// Always `L` (Lua) in practice.
    pub udf_type: u8,
    pub name: Vec<u8>,
    pub content: Vec<u8>,
}

/// Blob flavours, each with its bin letter and the client's `as_bytes_type` number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobType {
    Blob,
    Java,
    CSharp,
    Python,
    Ruby,
    Php,
    Erlang,
    Hll,
    Map,
    List,
}

impl BlobType {
    pub const ALL: [BlobType; 10] = [
        BlobType::Blob,
        BlobType::Java,
        BlobType::CSharp,
        BlobType::Python,
        BlobType::Ruby,
        BlobType::Php,
        BlobType::Erlang,
        BlobType::Hll,
        BlobType::Map,
        BlobType::List,
    ];

    pub fn letter(self) -> u8 {
        match self {
            BlobType::Blob => b'B',
            BlobType::Java => b'J',
            BlobType::CSharp => b'C',
            BlobType::Python => b'P',
            BlobType::Ruby => b'R',
            BlobType::Php => b'H',
            BlobType::Erlang => b'E',
            BlobType::Hll => b'Y',
            BlobType::Map => b'M',
            BlobType::List => b'L',
        }
    }

    pub fn from_letter(letter: u8) -> Option<BlobType> {
        Some(match letter {
            b'B' => BlobType::Blob,
            b'J' => BlobType::Java,
            b'C' => BlobType::CSharp,
            b'P' => BlobType::Python,
            b'R' => BlobType::Ruby,
            b'H' => BlobType::Php,
            b'E' => BlobType::Erlang,
            b'Y' => BlobType::Hll,
            b'M' => BlobType::Map,
            b'L' => BlobType::List,
            _ => return None,
        })
    }

    /// Wire particle type (`as_bytes_type` in the C client).
    pub fn particle_type(self) -> u8 {
        match self {
            BlobType::Blob => 4,
            BlobType::Java => 7,
            BlobType::CSharp => 8,
            BlobType::Python => 9,
            BlobType::Ruby => 10,
            BlobType::Php => 11,
            BlobType::Erlang => 12,
            BlobType::Hll => 18,
            BlobType::Map => 19,
            BlobType::List => 20,
        }
    }
}

/// Bin value with its bytes borrowed from the owning [`Record`] (or any caller buffer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(&'a [u8]),
    GeoJson(&'a [u8]),
    /// `compact` is the `!` form: raw bytes instead of base64.
    Blob {
        blob_type: BlobType,
        bytes: &'a [u8],
        compact: bool,
    },
}

impl Value<'_> {
    /// The letter this value is written with (`N Z I D S G` or a blob letter).
    pub fn letter(&self) -> u8 {
        match self {
            Value::Nil => b'N',
            Value::Bool(_) => b'Z',
            Value::Int(_) => b'I',
            Value::Double(_) => b'D',
            Value::Str(_) => b'S',
            Value::GeoJson(_) => b'G',
            Value::Blob { blob_type, .. } => blob_type.letter(),
        }
    }
}

/// User key of a record (`+ k`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key<'a> {
    Int(i64),
    Double(f64),
    Str(&'a [u8]),
    /// `compact` is the `B!` form (raw bytes).
    Bytes {
        bytes: &'a [u8],
        compact: bool,
    },
}

#[derive(Clone, Copy, Debug)]
enum StoredValue {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(u32, u32),
    GeoJson(u32, u32),
    /// Type, compact, canonical base64 text right after the bytes, span of the bytes.
    Blob(BlobType, bool, bool, u32, u32),
}

#[derive(Clone, Copy, Debug)]
enum StoredKey {
    Int(i64),
    Double(f64),
    Str(u32, u32),
    Bytes(bool, u32, u32),
}

#[derive(Clone, Debug)]
struct StoredBin {
    name: (u32, u32),
    value: StoredValue,
}

/// One record: metadata plus bins, all bytes in one buffer.
#[derive(Debug, Default)]
pub struct Record {
    data: Vec<u8>,
    namespace: (u32, u32),
    set: Option<(u32, u32)>,
    key: Option<StoredKey>,
    bins: Vec<StoredBin>,
    pub digest: [u8; 20],
    pub generation: u16,
    /// Seconds since 2010-01-01T00:00:00Z; 0 = never expires.
    pub void_time: u32,
    /// Double text other than C's `%.17g` (as Go writes it), kept when asked so that it is
    /// written back unchanged: (bin index, or [`KEY_TEXT`] for the key; span). Usually empty.
    double_texts: Vec<(u32, (u32, u32))>,
    /// The digest's base64 as read, when kept and canonical, with the digest it encodes
    /// (`digest` is public: the text counts only while it still matches).
    digest_text: [u8; 28],
    digest_text_of: Option<[u8; 20]>,
}

/// The index [`Record::double_text`] uses for the key.
const KEY_TEXT: u32 = u32::MAX;

impl Clone for Record {
    fn clone(&self) -> Record {
        let mut r = Record::default();
        r.clone_from(self);
        r
    }

    /// Reuses this record's buffers (no allocation once they are large enough).
    fn clone_from(&mut self, src: &Record) {
        self.data.clone_from(&src.data);
        self.bins.clone_from(&src.bins);
        self.namespace = src.namespace;
        self.set = src.set;
        self.key = src.key;
        self.digest = src.digest;
        self.generation = src.generation;
        self.void_time = src.void_time;
        self.double_texts.clone_from(&src.double_texts);
        self.digest_text = src.digest_text;
        self.digest_text_of = src.digest_text_of;
    }
}

fn span(s: (u32, u32)) -> Range<usize> {
    s.0 as usize..s.1 as usize
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    /// Empties the record but keeps its buffers for reuse.
    pub fn clear(&mut self) {
        self.data.clear();
        self.namespace = (0, 0);
        self.set = None;
        self.key = None;
        self.bins.clear();
        self.digest = [0; 20];
        self.generation = 0;
        self.void_time = 0;
        self.double_texts.clear();
        self.digest_text_of = None;
    }

    /// Keeps the base64 `text` the digest was read from, if it is canonical (what encoding
    /// the digest gives).
    #[inline(always)]
    pub(crate) fn keep_digest_text(&mut self, text: &[u8; 28]) {
        if crate::b64::is_canonical(text) {
            self.digest_text = *text;
            self.digest_text_of = Some(self.digest);
        } else {
            self.digest_text_of = None;
        }
    }

    /// The digest's base64, as read when it was kept: the same as encoding [`Record::digest`].
    #[inline]
    pub fn digest_text(&self) -> Option<&[u8; 28]> {
        (self.digest_text_of == Some(self.digest)).then_some(&self.digest_text)
    }

    /// The canonical base64 of blob bin `bin` as read, when the reader kept it: the same as
    /// encoding its bytes.
    #[inline]
    pub fn blob_text(&self, bin: usize) -> Option<&[u8]> {
        match self.bins.get(bin)?.value {
            StoredValue::Blob(_, _, true, a, b) => {
                let text_len = (b - a).div_ceil(3) * 4;
                self.data.get(b as usize..(b + text_len) as usize)
            }
            _ => None,
        }
    }

    /// Keeps `text` as the way the double of bin `bin` (`None`: of the key) is written; it
    /// must read back as that double (callers check).
    pub fn set_double_text(&mut self, bin: Option<usize>, text: &[u8]) {
        let at = bin.map_or(KEY_TEXT, |b| b as u32);
        let span = self.push_bytes(text);
        self.double_texts.retain(|(i, _)| *i != at);
        self.double_texts.push((at, span));
    }

    /// The text kept for the double of bin `bin` (`None`: of the key), if any.
    #[inline]
    pub fn double_text(&self, bin: Option<usize>) -> Option<&[u8]> {
        if self.double_texts.is_empty() {
            return None;
        }
        let at = bin.map_or(KEY_TEXT, |b| b as u32);
        self.double_texts
            .iter()
            .find(|(i, _)| *i == at)
            .map(|(_, s)| &self.data[span(*s)])
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> (u32, u32) {
        let start = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        (start, self.data.len() as u32)
    }

    /// Bytes held for names, values and bins (what the record would keep if reused).
    #[inline]
    pub fn buffer_capacity(&self) -> usize {
        self.data.capacity() + self.bins.capacity() * std::mem::size_of::<StoredBin>()
    }

    /// Bytes of names and values in the record now.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.data.len()
    }

    /// Lets a parser write straight into the buffer (it records the spans itself).
    pub(crate) fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    pub(crate) fn set_namespace_span(&mut self, s: (u32, u32)) {
        self.namespace = s;
    }
    pub(crate) fn set_set_span(&mut self, s: (u32, u32)) {
        self.set = Some(s);
    }
    pub(crate) fn set_key_int(&mut self, v: i64) {
        self.key = Some(StoredKey::Int(v));
    }
    pub(crate) fn set_key_double(&mut self, v: f64) {
        self.key = Some(StoredKey::Double(v));
    }
    pub(crate) fn set_key_str_span(&mut self, s: (u32, u32)) {
        self.key = Some(StoredKey::Str(s.0, s.1));
    }
    pub(crate) fn set_key_bytes_span(&mut self, s: (u32, u32), compact: bool) {
        self.key = Some(StoredKey::Bytes(compact, s.0, s.1));
    }
    pub(crate) fn push_bin_spans(&mut self, name: (u32, u32), value: SpanValue) {
        let value = match value {
            SpanValue::Nil => StoredValue::Nil,
            SpanValue::Bool(b) => StoredValue::Bool(b),
            SpanValue::Int(i) => StoredValue::Int(i),
            SpanValue::Double(d) => StoredValue::Double(d),
            SpanValue::Str(s) => StoredValue::Str(s.0, s.1),
            SpanValue::GeoJson(s) => StoredValue::GeoJson(s.0, s.1),
            SpanValue::Blob(t, c, text, s) => StoredValue::Blob(t, c, text, s.0, s.1),
        };
        self.bins.push(StoredBin { name, value });
    }

    pub fn set_namespace(&mut self, namespace: &[u8]) {
        self.namespace = self.push_bytes(namespace);
    }

    pub fn set_set(&mut self, set: Option<&[u8]>) {
        self.set = set.map(|s| self.push_bytes(s));
    }

    pub fn set_key(&mut self, key: Option<Key<'_>>) {
        self.key = key.map(|k| match k {
            Key::Int(v) => StoredKey::Int(v),
            Key::Double(v) => StoredKey::Double(v),
            Key::Str(s) => {
                let s = self.push_bytes(s);
                StoredKey::Str(s.0, s.1)
            }
            Key::Bytes { bytes, compact } => {
                let s = self.push_bytes(bytes);
                StoredKey::Bytes(compact, s.0, s.1)
            }
        });
    }

    pub fn push_bin(&mut self, name: &[u8], value: Value<'_>) {
        let name = self.push_bytes(name);
        let value = match value {
            Value::Nil => SpanValue::Nil,
            Value::Bool(b) => SpanValue::Bool(b),
            Value::Int(i) => SpanValue::Int(i),
            Value::Double(d) => SpanValue::Double(d),
            Value::Str(s) => SpanValue::Str(self.push_bytes(s)),
            Value::GeoJson(s) => SpanValue::GeoJson(self.push_bytes(s)),
            Value::Blob {
                blob_type,
                bytes,
                compact,
            } => SpanValue::Blob(blob_type, compact, false, self.push_bytes(bytes)),
        };
        self.push_bin_spans(name, value);
    }

    /// Keeps only the bins whose name passes `keep`.
    pub fn retain_bins(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let data = &self.data;
        if self.double_texts.is_empty() {
            self.bins.retain(|b| keep(&data[span(b.name)]));
            return;
        }
        // Kept texts follow their bins to their new places.
        let kept: Vec<bool> = self
            .bins
            .iter()
            .map(|b| keep(&data[span(b.name)]))
            .collect();
        let mut new_index = Vec::with_capacity(kept.len());
        let mut n = 0u32;
        for &k in &kept {
            new_index.push(k.then_some(n));
            n += u32::from(k);
        }
        self.double_texts.retain_mut(|(i, _)| {
            if *i == KEY_TEXT {
                return true;
            }
            match new_index[*i as usize] {
                Some(j) => {
                    *i = j;
                    true
                }
                None => false,
            }
        });
        let mut it = kept.iter();
        self.bins.retain(|_| *it.next().expect("one flag per bin"));
    }

    pub fn namespace(&self) -> &[u8] {
        &self.data[span(self.namespace)]
    }

    pub fn set(&self) -> Option<&[u8]> {
        self.set.map(|s| &self.data[span(s)])
    }

    pub fn key(&self) -> Option<Key<'_>> {
        self.key.map(|k| match k {
            StoredKey::Int(v) => Key::Int(v),
            StoredKey::Double(v) => Key::Double(v),
            StoredKey::Str(a, b) => Key::Str(&self.data[span((a, b))]),
            StoredKey::Bytes(compact, a, b) => Key::Bytes {
                bytes: &self.data[span((a, b))],
                compact,
            },
        })
    }

    pub fn bin_count(&self) -> usize {
        self.bins.len()
    }

    /// Bin `i` (in file order): its name and value.
    #[inline(always)]
    pub fn bin(&self, i: usize) -> (&[u8], Value<'_>) {
        let b = &self.bins[i];
        (&self.data[span(b.name)], self.value(&b.value))
    }

    /// Bins in file order (duplicates kept as they appear).
    #[inline]
    pub fn bins(&self) -> Bins<'_> {
        Bins {
            record: self,
            stored: self.bins.iter(),
        }
    }

    #[inline(always)]
    fn value(&self, v: &StoredValue) -> Value<'_> {
        match *v {
            StoredValue::Nil => Value::Nil,
            StoredValue::Bool(b) => Value::Bool(b),
            StoredValue::Int(i) => Value::Int(i),
            StoredValue::Double(d) => Value::Double(d),
            StoredValue::Str(a, b) => Value::Str(&self.data[span((a, b))]),
            StoredValue::GeoJson(a, b) => Value::GeoJson(&self.data[span((a, b))]),
            StoredValue::Blob(t, compact, _, a, b) => Value::Blob {
                blob_type: t,
                bytes: &self.data[span((a, b))],
                compact,
            },
        }
    }
}

/// The bins of a [`Record`]: (name, value) in file order. A named iterator whose `next` is
/// always inlined: every writer loops over bins, and a closure was left out of line.
pub struct Bins<'a> {
    record: &'a Record,
    stored: std::slice::Iter<'a, StoredBin>,
}

impl<'a> Iterator for Bins<'a> {
    type Item = (&'a [u8], Value<'a>);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.stored.next()?;
        Some((&self.record.data[span(b.name)], self.record.value(&b.value)))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stored.size_hint()
    }
}

impl ExactSizeIterator for Bins<'_> {}

/// Bin value whose bytes are spans of the record buffer; used by the parser.
pub(crate) enum SpanValue {
    Nil,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str((u32, u32)),
    GeoJson((u32, u32)),
    /// Type, compact, canonical base64 text right after the bytes, span of the bytes.
    Blob(BlobType, bool, bool, (u32, u32)),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_headers_write_them() {
        for v in Version::KNOWN {
            assert_eq!(Version::parse(v.as_str().as_bytes()), Some(v));
        }
        assert_eq!(Version::parse(b"3.4"), None);
        assert_eq!(Version::parse(b"3.10"), None);
    }

    #[test]
    fn kept_double_text_follows_its_bin_when_bins_are_dropped() {
        let mut rec = Record::new();
        rec.set_namespace(b"test");
        rec.set_key(Some(Key::Double(0.1)));
        rec.set_double_text(None, b"0.1");
        for (name, text) in [
            (&b"a"[..], Some(&b"1e+06"[..])),
            (b"b", None),
            (b"c", Some(b"+Inf")),
        ] {
            if let Some(t) = text {
                rec.set_double_text(Some(rec.bin_count()), t);
            }
            rec.push_bin(name, Value::Double(1.0));
        }
        rec.retain_bins(|n| n != b"a");
        let names: Vec<&[u8]> = rec.bins().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"b"[..], b"c"]);
        assert_eq!(rec.double_text(Some(0)), None);
        assert_eq!(rec.double_text(Some(1)), Some(&b"+Inf"[..]));
        assert_eq!(rec.double_text(None), Some(&b"0.1"[..]));
        let copy = rec.clone();
        assert_eq!(copy.double_text(Some(1)), Some(&b"+Inf"[..]));
        rec.clear();
        assert_eq!(rec.double_text(None), None);
    }

    #[test]
    fn kept_base64_text_follows_its_bin_and_its_digest() {
        let mut rec = Record::new();
        rec.set_namespace(b"test");
        for (name, bytes, text) in [
            (&b"a"[..], &b"\x01\x02"[..], &b"AQI="[..]),
            (b"b", b"xyz", b"eHl6"),
            (b"c", b"", b""),
        ] {
            let data = rec.data_mut();
            let start = data.len() as u32;
            data.extend_from_slice(bytes);
            let end = data.len() as u32;
            data.extend_from_slice(text);
            let name = rec.push_bytes(name);
            rec.push_bin_spans(
                name,
                SpanValue::Blob(BlobType::Blob, false, true, (start, end)),
            );
        }
        rec.push_bin(b"d", Value::Int(1));
        assert_eq!(rec.blob_text(0), Some(&b"AQI="[..]));
        assert_eq!(rec.blob_text(3), None);
        rec.retain_bins(|n| n != b"a");
        assert_eq!(rec.blob_text(0), Some(&b"eHl6"[..]));
        assert_eq!(rec.blob_text(1), Some(&b""[..]));
        assert_eq!(rec.blob_text(9), None);

        rec.digest = [7; 20];
        rec.keep_digest_text(b"BwcHBwcHBwcHBwcHBwcHBwcHBwc=");
        assert_eq!(rec.digest_text(), Some(b"BwcHBwcHBwcHBwcHBwcHBwcHBwc="));
        rec.digest = [8; 20];
        assert_eq!(
            rec.digest_text(),
            None,
            "the text no longer encodes the digest"
        );
        rec.digest = [7; 20];
        rec.keep_digest_text(b"BwcHBwcHBwcHBwcHBwcHBwcHBwd=");
        assert_eq!(rec.digest_text(), None, "stray bits: not kept");
        rec.clear();
        assert_eq!(rec.digest_text(), None);
    }
}

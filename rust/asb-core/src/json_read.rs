//! JSON Lines back into entities (the reverse of [`crate::json`]).
//!
//! Records, nearly every line, are read by a typed deserializer that borrows strings from the
//! line. Anything it does not take (other entities, fields it does not know, and every line
//! it cannot read or fill) is read again as a `serde_json::Value`, whose checks give the
//! error messages. Both ways end in the same [`Leaf`] values and the same [`fill_record`];
//! the `json` fuzz target and a differential test check that they agree.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::model::{BlobType, Header, Key, Meta, Record, SecondaryIndex, Udf, Value, Version};

/// One entity read from a JSON line.
#[derive(Debug)]
pub enum JsonEntity {
    Header {
        header: Header,
        file: Option<String>,
    },
    SecondaryIndex(SecondaryIndex),
    Udf(Udf),
    Record,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::value(msg)
}

// ---------------------------------------------------------------------------------------
// Leaves: what a value field holds

/// A JSON value where the conversion reads one: a scalar, a string, or text as
/// `{"b64": …}`. Arrays and other objects are `Other` (never valid there).
#[derive(Debug)]
enum Leaf<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'a, str>),
    B64(Cow<'a, str>),
    Other,
}

impl<'a> Leaf<'a> {
    fn of(v: &'a Json) -> Leaf<'a> {
        match v {
            Json::Null => Leaf::Null,
            Json::Bool(b) => Leaf::Bool(*b),
            Json::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Leaf::U64(u),
                (None, Some(i)) => Leaf::I64(i),
                _ => Leaf::F64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Leaf::Str(Cow::Borrowed(s)),
            Json::Object(o) => match o.get("b64") {
                Some(Json::String(b)) => Leaf::B64(Cow::Borrowed(b)),
                _ => Leaf::Other,
            },
            Json::Array(_) => Leaf::Other,
        }
    }

    fn text(&self, what: &str) -> Result<Cow<'_, [u8]>> {
        match self {
            Leaf::Str(s) => Ok(Cow::Borrowed(s.as_bytes())),
            Leaf::B64(b) => b64_of(b, what).map(Cow::Owned),
            _ => Err(bad(format!("{what}: expected a string or {{\"b64\": …}}"))),
        }
    }

    fn base64(&self, what: &str) -> Result<Vec<u8>> {
        match self {
            Leaf::Str(s) => b64_of(s, what),
            _ => Err(bad(format!("{what}: expected base64"))),
        }
    }

    fn int(&self, what: &str) -> Result<i64> {
        match *self {
            Leaf::U64(u) if u <= i64::MAX as u64 => Ok(u as i64),
            Leaf::I64(i) => Ok(i),
            _ => Err(bad(format!("{what}: expected a 64-bit integer"))),
        }
    }

    fn uint(&self, max: u64, what: &str) -> Result<u64> {
        match *self {
            Leaf::U64(u) if u <= max => Ok(u),
            _ => Err(bad(format!("{what}: expected an integer from 0 to {max}"))),
        }
    }

    fn double(&self, what: &str) -> Result<f64> {
        match self {
            Leaf::U64(u) => Ok(*u as f64),
            Leaf::I64(i) => Ok(*i as f64),
            Leaf::F64(f) => Ok(*f),
            Leaf::Str(s) => match s.as_ref() {
                "NaN" => Ok(f64::NAN),
                "-NaN" => Ok(-f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(bad(format!(
                    "{what}: expected a number, \"NaN\" or \"Infinity\""
                ))),
            },
            _ => Err(bad(format!("{what}: expected a number"))),
        }
    }

    fn letter(&self, what: &str) -> Result<u8> {
        match self {
            Leaf::Str(s) if s.len() == 1 => Ok(s.as_bytes()[0]),
            _ => Err(bad(format!("{what}: expected one letter"))),
        }
    }

    fn is_true(leaf: &Option<Leaf<'_>>) -> bool {
        matches!(leaf, Some(Leaf::Bool(true)))
    }
}

fn b64_of(s: &str, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    crate::b64::decode_append(s.as_bytes(), &mut out)
        .map_err(|_| bad(format!("{what}: invalid base64")))?;
    Ok(out)
}

/// Any JSON value, read as strictly as into a `Value` (strings decoded and checked, numbers
/// in range) and dropped. Serde's `IgnoredAny` skips strings without checking them, which
/// would let the typed reading take lines that are not valid JSON.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Checked;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<Checked, E> {
                Ok(Checked)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Checked, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Checked)
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Checked, A::Error> {
                while map.next_entry::<Checked, Checked>()?.is_some() {}
                Ok(Checked)
            }
        }
        d.deserialize_any(V)
    }
}

/// A string, borrowed from the line when it has no escapes.
struct LineStr<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LineStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LineStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<LineStr<'de>, E> {
                Ok(LineStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<LineStr<'de>, E> {
                Ok(LineStr(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<LineStr<'de>, E> {
                Ok(LineStr(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Leaf<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Leaf<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Null)
            }
            fn visit_none<E>(self) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Null)
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Bool(b))
            }
            fn visit_u64<E>(self, u: u64) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::U64(u))
            }
            fn visit_i64<E>(self, i: i64) -> std::result::Result<Leaf<'de>, E> {
                // serde_json gives non-negative integers as u64, as Value stores them.
                Ok(if i >= 0 {
                    Leaf::U64(i as u64)
                } else {
                    Leaf::I64(i)
                })
            }
            fn visit_f64<E>(self, f: f64) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::F64(f))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Str(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Leaf<'de>, E> {
                Ok(Leaf::Str(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Leaf<'de>, A::Error> {
                while seq.next_element::<Checked>()?.is_some() {}
                Ok(Leaf::Other)
            }
            /// `{"b64": "…"}` (other keys ignored, the last `b64` counts, as in a Value).
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Leaf<'de>, A::Error> {
                let mut b64 = None;
                while let Some(key) = map.next_key::<LineStr<'de>>()? {
                    if key.0 == "b64" {
                        b64 = Some(map.next_value::<Leaf<'de>>()?);
                    } else {
                        map.next_value::<Checked>()?;
                    }
                }
                Ok(match b64 {
                    Some(Leaf::Str(s)) => Leaf::B64(s),
                    _ => Leaf::Other,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// An optional leaf that is not absent when `null`: it is kept as `Leaf::Null`, for
/// [`fill_record`] to refuse, where serde's `Option` would take it as absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Leaf<'de>>, D::Error> {
    Leaf::deserialize(d).map(Some)
}

/// The key: when present, an object (`null` is an error, as it is for a `Value`).
fn present_key<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ValueFields<'de>>, D::Error> {
    Obj::<ValueFields<'de>>::deserialize(d).map(|o| Some(o.0))
}

/// A struct read only from a JSON object: derived structs also take arrays (fields in
/// order), which a `Value` reading of the line would refuse.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Obj<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Records

/// Other fields send the line to the `Value` reading (they are checked there, not skipped).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFields<'a> {
    #[serde(rename = "type", borrow)]
    kind: Leaf<'a>,
    #[serde(borrow)]
    namespace: Leaf<'a>,
    #[serde(default, borrow, deserialize_with = "present")]
    set: Option<Leaf<'a>>,
    #[serde(borrow)]
    digest: Leaf<'a>,
    #[serde(borrow)]
    generation: Leaf<'a>,
    #[serde(borrow)]
    void_time: Leaf<'a>,
    #[serde(default, borrow, deserialize_with = "present_key")]
    key: Option<ValueFields<'a>>,
    #[serde(borrow)]
    bins: Vec<Obj<ValueFields<'a>>>,
    /// Written for people; read back from `void_time`.
    #[serde(default)]
    #[allow(dead_code)]
    expires: Option<Checked>,
}

/// A bin, or the key (which has no name): type letter, value, and how it was written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueFields<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    name: Option<Leaf<'a>>,
    #[serde(borrow)]
    t: Leaf<'a>,
    #[serde(borrow)]
    v: Leaf<'a>,
    #[serde(default, borrow, deserialize_with = "present")]
    compact: Option<Leaf<'a>>,
    #[serde(default, borrow, deserialize_with = "present")]
    text: Option<Leaf<'a>>,
    /// The readable view of a list or map; the msgpack in `v` is what counts.
    #[serde(default)]
    #[allow(dead_code)]
    view: Option<Checked>,
}

fn value_fields(o: &serde_json::Map<String, Json>) -> Result<ValueFields<'_>> {
    Ok(ValueFields {
        name: o.get("name").map(Leaf::of),
        t: Leaf::of(field(o, "t")?),
        v: Leaf::of(field(o, "v")?),
        compact: o.get("compact").map(Leaf::of),
        text: o.get("text").map(Leaf::of),
        view: None,
    })
}

/// The fields of a record line read as a `Value` (the way that reports what is missing),
/// looked for in file order.
fn record_fields(obj: &serde_json::Map<String, Json>) -> Result<RecordFields<'_>> {
    let namespace = Leaf::of(field(obj, "namespace")?);
    let set = obj.get("set").map(Leaf::of);
    let digest = Leaf::of(field(obj, "digest")?);
    let generation = Leaf::of(field(obj, "generation")?);
    let void_time = Leaf::of(field(obj, "void_time")?);
    let key = match obj.get("key") {
        None => None,
        Some(key) => Some(value_fields(
            key.as_object()
                .ok_or_else(|| bad("key: expected an object"))?,
        )?),
    };
    let mut bins = Vec::new();
    for bin in field(obj, "bins")?
        .as_array()
        .ok_or_else(|| bad("bins: expected a list"))?
    {
        let bin = bin
            .as_object()
            .ok_or_else(|| bad("bins: expected objects"))?;
        field(bin, "name")?;
        bins.push(Obj(value_fields(bin)?));
    }
    Ok(RecordFields {
        kind: Leaf::Str(Cow::Borrowed("record")),
        namespace,
        set,
        digest,
        generation,
        void_time,
        key,
        bins,
        expires: None,
    })
}

fn fill_record(f: &RecordFields<'_>, rec: &mut Record) -> Result<()> {
    rec.clear();
    rec.set_namespace(&f.namespace.text("namespace")?);
    let set = f.set.as_ref().map(|s| s.text("set")).transpose()?;
    rec.set_set(set.as_deref());
    rec.digest = f
        .digest
        .base64("digest")?
        .try_into()
        .map_err(|_| bad("digest: expected 20 bytes"))?;
    rec.generation = f.generation.uint(u16::MAX as u64, "generation")? as u16;
    rec.void_time = f.void_time.uint(u32::MAX as u64, "void_time")? as u32;
    if let Some(key) = &f.key {
        let bytes;
        let k = match key.t.letter("key type")? {
            b'I' => Key::Int(key.v.int("key")?),
            b'D' => Key::Double(key.v.double("key")?),
            b'S' => {
                bytes = key.v.text("key")?;
                Key::Str(&bytes)
            }
            b'B' => {
                bytes = Cow::Owned(key.v.base64("key")?);
                Key::Bytes {
                    bytes: &bytes,
                    compact: Leaf::is_true(&key.compact),
                }
            }
            t => {
                return Err(bad(format!(
                    "key type {:?}: expected I, D, S or B",
                    t as char
                )))
            }
        };
        rec.set_key(Some(k));
        if let Key::Double(v) = k {
            if let Some(text) = double_text_of(&key.text, v, "key")? {
                rec.set_double_text(None, &text);
            }
        }
    }
    for Obj(bin) in &f.bins {
        let name = match &bin.name {
            Some(name) => name.text("bin name")?,
            None => return Err(bad("missing \"name\"")),
        };
        let (v, letter) = (&bin.v, bin.t.letter("bin type")?);
        let bytes;
        let value = match letter {
            b'N' => Value::Nil,
            b'Z' => match v {
                Leaf::Bool(b) => Value::Bool(*b),
                _ => return Err(bad("boolean bin: expected true or false")),
            },
            b'I' => Value::Int(v.int("integer bin")?),
            b'D' => Value::Double(v.double("double bin")?),
            b'S' | b'G' => {
                bytes = v.text("string bin")?;
                if letter == b'S' {
                    Value::Str(&bytes)
                } else {
                    Value::GeoJson(&bytes)
                }
            }
            _ => {
                let blob_type = BlobType::from_letter(letter)
                    .ok_or_else(|| bad(format!("bin type {:?}: unknown", letter as char)))?;
                bytes = Cow::Owned(v.base64("blob bin")?);
                Value::Blob {
                    blob_type,
                    bytes: &bytes,
                    compact: Leaf::is_true(&bin.compact),
                }
            }
        };
        if let Value::Double(v) = value {
            if let Some(text) = double_text_of(&bin.text, v, "double bin")? {
                rec.set_double_text(Some(rec.bin_count()), &text);
            }
        }
        rec.push_bin(&name, value);
    }
    Ok(())
}

/// The `"text"` a double was read as, checked: it must be a number the C reader reads
/// (one token) and give the same double as `"v"`.
fn double_text_of(text: &Option<Leaf<'_>>, v: f64, what: &str) -> Result<Option<Vec<u8>>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let text = text.text(what)?;
    let same = match crate::numbers::parse_double(&text) {
        Ok(t) => t.to_bits() == v.to_bits() || (t.is_nan() && v.is_nan()),
        Err(_) => false,
    };
    if !same || text.iter().any(|&c| c == b' ' || c == b'\n') {
        return Err(bad(format!(
            "{what}: \"text\" {:?} does not read as the value {v:?}",
            String::from_utf8_lossy(&text)
        )));
    }
    Ok(Some(text.into_owned()))
}

// ---------------------------------------------------------------------------------------
// Lines

fn field<'a>(obj: &'a serde_json::Map<String, Json>, name: &str) -> Result<&'a Json> {
    obj.get(name)
        .ok_or_else(|| bad(format!("missing \"{name}\"")))
}

/// Text (a string or `{"b64": …}`) of a field of entities other than records.
fn owned_text(v: &Json, what: &str) -> Result<Vec<u8>> {
    Leaf::of(v).text(what).map(Cow::into_owned)
}

/// Parses one JSON line; a record goes into `rec` (returned as `JsonEntity::Record`).
pub fn entity_from_json(line: &[u8], rec: &mut Record) -> Result<JsonEntity> {
    // Records: typed, borrowing from the line. Anything else, and any line this does not
    // take, is read as a `Value`; so is a record it cannot fill, for the `Value` reading to
    // name the first thing wrong, in its order.
    if let Ok(Obj(fields)) = serde_json::from_slice::<Obj<RecordFields<'_>>>(line) {
        if matches!(&fields.kind, Leaf::Str(k) if k == "record")
            && fill_record(&fields, rec).is_ok()
        {
            return Ok(JsonEntity::Record);
        }
    }
    entity_from_value(line, rec)
}

/// [`entity_from_json`] by way of a `serde_json::Value`: slower, and what reports errors.
fn entity_from_value(line: &[u8], rec: &mut Record) -> Result<JsonEntity> {
    let json: Json = serde_json::from_slice(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("expected a JSON object"))?;
    let text = |name: &str, what: &str| owned_text(field(obj, name)?, what);
    let kind = field(obj, "type")?.as_str().unwrap_or("");
    match kind {
        "record" => {
            fill_record(&record_fields(obj)?, rec)?;
            Ok(JsonEntity::Record)
        }
        "header" => {
            let version = field(obj, "version")?
                .as_str()
                .and_then(|v| Version::parse(v.as_bytes()))
                .ok_or_else(|| bad("version: expected \"3.0\" to \"3.3\""))?;
            let mut meta = Vec::new();
            if let Some(Json::Array(items)) = obj.get("meta") {
                for m in items {
                    let m = m.as_object().ok_or_else(|| bad("meta: expected objects"))?;
                    if let Some(ns) = m.get("namespace") {
                        meta.push(Meta::Namespace(owned_text(ns, "meta namespace")?));
                    } else if m.contains_key("first_file") {
                        meta.push(Meta::FirstFile);
                    } else if let Some(line) = m.get("line") {
                        meta.push(Meta::Other(owned_text(line, "meta line")?));
                    } else {
                        return Err(bad("meta: expected namespace, first_file or line"));
                    }
                }
            } else {
                if let Some(ns) = obj.get("namespace") {
                    meta.push(Meta::Namespace(owned_text(ns, "namespace")?));
                }
                if obj.get("first_file").and_then(Json::as_bool) == Some(true) {
                    meta.push(Meta::FirstFile);
                }
            }
            let file = obj.get("file").and_then(Json::as_str).map(str::to_string);
            Ok(JsonEntity::Header {
                header: Header { version, meta },
                file,
            })
        }
        "sindex" => {
            let mut paths = Vec::new();
            for p in field(obj, "paths")?
                .as_array()
                .ok_or_else(|| bad("paths: expected a list"))?
            {
                let p = p
                    .as_object()
                    .ok_or_else(|| bad("paths: expected objects"))?;
                paths.push((
                    owned_text(field(p, "bin")?, "path bin")?,
                    Leaf::of(field(p, "type")?).letter("path type")?,
                ));
            }
            let optional = |name: &str| obj.get(name).map(|c| owned_text(c, name));
            Ok(JsonEntity::SecondaryIndex(SecondaryIndex {
                namespace: text("namespace", "namespace")?,
                set: text("set", "set")?,
                name: text("name", "name")?,
                index_type: Leaf::of(field(obj, "index_type")?).letter("index_type")?,
                paths,
                context: optional("context").transpose()?,
                expression: optional("expression").transpose()?,
            }))
        }
        "udf" => Ok(JsonEntity::Udf(Udf {
            udf_type: obj
                .get("udf_type")
                .map(|t| Leaf::of(t).letter("udf_type"))
                .transpose()?
                .unwrap_or(b'L'),
            name: text("name", "name")?,
            content: text("content", "content")?,
        })),
        other => Err(bad(format!(
            "unknown entity type {other:?} (header, sindex, udf or record)"
        ))),
    }
}

/// What the typed reading and the `Value` reading make of one line, each as the record's
/// `.asb` encoding, the entity, or `error: <message>`: they must be equal. For the `json`
/// fuzz target and the tests.
#[doc(hidden)]
pub fn both_readings(line: &[u8]) -> (String, String) {
    let outcome = |read: fn(&[u8], &mut Record) -> Result<JsonEntity>| {
        let mut rec = Record::new();
        match read(line, &mut rec) {
            Ok(JsonEntity::Record) => {
                let mut out = Vec::new();
                match crate::write::encode_record(&mut out, &rec, false) {
                    Ok(()) => String::from_utf8_lossy(&out).into_owned(),
                    Err(e) => format!("refused: {}", e.message),
                }
            }
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error: {}", e.message),
        }
    };
    (outcome(entity_from_json), outcome(entity_from_value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_lines() -> Vec<String> {
        let mut text = Vec::new();
        crate::synth::write_synthetic(&mut text, 20_000, 5).unwrap();
        text.extend_from_slice(
            b"+ k D 0.1\n+ n test\n+ d AAECAwQFBgcICQoLDA0ODxAREhM=\n+ g 1\n+ t 0\n+ b 4\n\
              - D a 1e+06\n- S s 5 a\\\"b\xff\n- B! c 3 xyz\n- N n\n",
        );
        let mut reader = crate::Reader::new(&text[..]).unwrap();
        reader.keep_double_text(true);
        let mut lines = Vec::new();
        while let Some(crate::Entity::Record(r)) = reader.next_entity().unwrap() {
            let mut out = Vec::new();
            crate::json::record_to_json(&mut out, r);
            lines.push(String::from_utf8(out).unwrap().trim_end().to_string());
        }
        lines
    }

    /// The typed reading and the `Value` reading agree on every record line and on lines
    /// damaged in every way tried: fields removed, values of every JSON kind put in their
    /// place, keys given twice, objects turned into arrays, unknown fields added.
    #[test]
    fn typed_and_value_readings_agree() {
        let replacements = [
            "null",
            "true",
            "0",
            "-1",
            "1.5",
            "70000",
            "\"x\"",
            "\"I\"",
            "\"QQ==\"",
            "{}",
            "[]",
            "{\"b64\":\"QQ==\"}",
            "{\"b64\":1}",
            "{\"b64\":\"!\"}",
            "[1,2]",
            "\"NaN\"",
            "18446744073709551615",
            "-9223372036854775808",
            "1e300",
        ];
        let mut checked = 0;
        for line in record_lines() {
            let mut variants = vec![line.clone()];
            let value: Json = serde_json::from_str(&line).unwrap();
            // Every path to a value in the line.
            let mut paths: Vec<Vec<String>> = Vec::new();
            fn walk(v: &Json, at: Vec<String>, out: &mut Vec<Vec<String>>) {
                match v {
                    Json::Object(o) => {
                        for (k, x) in o {
                            let mut p = at.clone();
                            p.push(k.clone());
                            out.push(p.clone());
                            walk(x, p, out);
                        }
                    }
                    Json::Array(a) => {
                        for (i, x) in a.iter().enumerate() {
                            let mut p = at.clone();
                            p.push(i.to_string());
                            out.push(p.clone());
                            walk(x, p, out);
                        }
                    }
                    _ => {}
                }
            }
            walk(&value, Vec::new(), &mut paths);
            for path in &paths {
                let pointer = format!("/{}", path.join("/"));
                let mut removed = value.clone();
                let (parent, last) = pointer.rsplit_once('/').unwrap();
                match removed.pointer_mut(if parent.is_empty() { "" } else { parent }) {
                    Some(Json::Object(o)) => {
                        o.remove(last);
                    }
                    Some(Json::Array(a)) => {
                        a.remove(last.parse::<usize>().unwrap());
                    }
                    _ => unreachable!(),
                }
                variants.push(removed.to_string());
                for r in replacements {
                    let mut changed = value.clone();
                    *changed.pointer_mut(&pointer).unwrap() = serde_json::from_str(r).unwrap();
                    variants.push(changed.to_string());
                }
                let mut as_array = value.clone();
                let target = as_array.pointer_mut(&pointer).unwrap();
                if let Json::Object(o) = target {
                    *target = Json::Array(o.values().cloned().collect());
                    variants.push(as_array.to_string());
                }
            }
            // Keys given twice (a Value keeps the last), and an unknown field.
            for key in [
                "\"name\":",
                "\"t\":",
                "\"v\":",
                "\"namespace\":",
                "\"digest\":",
            ] {
                if let Some(at) = line.find(key) {
                    let end = line[at..].find([',', '}']).unwrap() + at;
                    let twice = format!("{}{},{}", &line[..at], &line[at..end], &line[at..]);
                    variants.push(twice);
                }
            }
            variants.push(line.replacen('{', "{\"extra\":[1,{\"b64\":2}],", 1));
            variants.push(format!("[{line}]"));
            for v in &variants {
                let (fast, thorough) = both_readings(v.as_bytes());
                assert_eq!(fast, thorough, "{v}");
                checked += 1;
            }
        }
        assert!(checked > 5000, "{checked}");
    }
}

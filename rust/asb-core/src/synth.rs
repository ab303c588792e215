//! Synthetic backups with a fixed, realistic mix, for benchmarks and tests.
//!
//! Records are about 300 bytes of text: string (60 %) or integer (30 %) keys or none, four
//! sets, and integer, double, string, blob, boolean, list and map bins. The mix is fixed so
//! figures compare across changes.

use std::io::Write;

use crate::digest::compute_digest;
use crate::error::Result;
use crate::model::{BlobType, Header, Key, Record, Value};
use crate::write::Writer;

/// Small fast deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const SETS: [&[u8]; 4] = [b"users", b"orders", b"events", b"sessions"];
const WORDS: [&str; 8] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];

fn push_word(out: &mut Vec<u8>, rng: &mut Rng) {
    out.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
}

/// Server msgpack of a list of short strings (each string carries its particle type byte).
fn list_of_strings(rng: &mut Rng, out: &mut Vec<u8>) {
    let n = 2 + rng.below(3) as usize;
    out.push(0x90 | n as u8);
    for _ in 0..n {
        let at = out.len();
        out.push(0);
        out.push(0x03);
        push_word(out, rng);
        out[at] = 0xa0 | (out.len() - at - 1) as u8;
    }
}

/// Server msgpack of a small string → integer map.
fn map_of_counts(rng: &mut Rng, out: &mut Vec<u8>) {
    out.push(0x82);
    for key in ["views", "clicks"] {
        out.push(0xa0 | (key.len() + 1) as u8);
        out.push(0x03);
        out.extend_from_slice(key.as_bytes());
        out.push(0xcd);
        out.extend_from_slice(&(rng.below(60000) as u16).to_be_bytes());
    }
}

/// Fills `rec` with the `i`-th synthetic record.
pub fn synth_record(rng: &mut Rng, i: u64, namespace: &[u8], rec: &mut Record) {
    rec.clear();
    rec.set_namespace(namespace);
    let set = SETS[rng.below(SETS.len() as u64) as usize];
    rec.set_set(Some(set));
    let mut scratch = Vec::with_capacity(64);
    let kind = rng.below(10);
    let key_text = format!("user-{i:010}");
    let key = match kind {
        0..=5 => Some(Key::Str(key_text.as_bytes())),
        6..=8 => Some(Key::Int(i as i64 * 7919)),
        _ => None,
    };
    rec.digest = match &key {
        Some(k) => compute_digest(set, k),
        None => compute_digest(set, &Key::Int(-(i as i64))),
    };
    rec.set_key(key);
    rec.generation = 1 + rng.below(20) as u16;
    rec.void_time = if rng.below(4) == 0 {
        0
    } else {
        470_000_000 + rng.below(60_000_000) as u32
    };
    rec.push_bin(b"id", Value::Int(i as i64));
    rec.push_bin(b"score", Value::Double(rng.below(1_000_000) as f64 / 7.0));
    scratch.clear();
    for _ in 0..2 + rng.below(3) {
        push_word(&mut scratch, rng);
        scratch.push(b' ');
    }
    scratch.pop();
    rec.push_bin(b"name", Value::Str(&scratch));
    let blob_len = 16 + rng.below(33) as usize;
    let blob: Vec<u8> = (0..blob_len).map(|_| rng.next_u64() as u8).collect();
    rec.push_bin(
        b"payload",
        Value::Blob {
            blob_type: BlobType::Blob,
            bytes: &blob,
            compact: false,
        },
    );
    rec.push_bin(b"active", Value::Bool(rng.below(2) == 1));
    scratch.clear();
    list_of_strings(rng, &mut scratch);
    rec.push_bin(
        b"tags",
        Value::Blob {
            blob_type: BlobType::List,
            bytes: &scratch,
            compact: false,
        },
    );
    scratch.clear();
    map_of_counts(rng, &mut scratch);
    rec.push_bin(
        b"stats",
        Value::Blob {
            blob_type: BlobType::Map,
            bytes: &scratch,
            compact: false,
        },
    );
    rec.push_bin(
        b"updated",
        Value::Int(1_700_000_000 + rng.below(100_000_000) as i64),
    );
}

/// Writes a synthetic backup of at least `target_bytes` of text; returns (records, bytes).
pub fn write_synthetic(out: impl Write, target_bytes: u64, seed: u64) -> Result<(u64, u64)> {
    let mut writer = Writer::new(out, &Header::new(b"bench", true))?;
    let mut rng = Rng::new(seed);
    let mut rec = Record::new();
    let mut n = 0;
    while writer.text_bytes() < target_bytes {
        synth_record(&mut rng, n, b"bench", &mut rec);
        writer.write_record(&rec)?;
        n += 1;
    }
    let bytes = writer.text_bytes();
    writer.into_inner()?;
    Ok((n, bytes))
}

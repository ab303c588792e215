//! The reader's window edge, placed anywhere inside the fuzzed text.
//!
//! The reader parses a 1 MiB window and, when an entity runs past its end, refills and
//! parses that entity again. Inputs of a few KiB never reach that path, so this target puts
//! a filler record of about 1 MiB in front of the fuzzed entities, sized so that the window
//! ends `k` bytes into them. The result must be exactly what the same entities give without
//! the filler: the same entities, the same error message, and the same error position
//! shifted by the filler's lines and bytes.
//!
//! Input: byte 0 picks the version (3.0 to 3.3), bytes 1-2 pick `k`, the rest is the text
//! after the header (records, index and UDF lines).
#![no_main]

use asb_core::write::{encode_record, encode_sindex, encode_udf};
use asb_core::{Entity, Position, Reader};
use libfuzzer_sys::fuzz_target;

/// `INITIAL_WINDOW` in `src/read.rs`.
const WINDOW: usize = 1 << 20;
const DIGEST: &[u8] = b"7JEZLUt/jONdXXjTS8ply6qqyWA=";

#[derive(Debug, PartialEq)]
struct Outcome {
    entities: Vec<Vec<u8>>,
    error: Option<(String, Option<Position>)>,
}

fn read_all(text: &[u8]) -> Outcome {
    let mut entities = Vec::new();
    let mut reader = match Reader::new(text) {
        Ok(r) => r,
        Err(e) => return Outcome { entities, error: Some((e.message, e.position)) },
    };
    let legacy = reader.header().version.is_legacy();
    loop {
        let mut out = Vec::new();
        match reader.next_entity() {
            Ok(Some(Entity::Record(r))) => encode_record(&mut out, r, legacy),
            Ok(Some(Entity::SecondaryIndex(s))) => encode_sindex(&mut out, &s),
            Ok(Some(Entity::Udf(u))) => encode_udf(&mut out, &u),
            Ok(None) => return Outcome { entities, error: None },
            Err(e) => return Outcome { entities, error: Some((e.message, e.position)) },
        }
        entities.push(out);
    }
}

/// A record with one string bin, `len` bytes long in all (within a few bytes).
fn filler(len: usize) -> Vec<u8> {
    let head = format!("+ n test\n+ d {}\n+ g 1\n+ t 0\n+ b 1\n- S f ", std::str::from_utf8(DIGEST).unwrap());
    // "<n> " + n bytes + LF: solve for n given the digit count.
    let fixed = head.len() + 2;
    let mut n = len.saturating_sub(fixed);
    while n > 0 && fixed + n.to_string().len() + n > len {
        n -= 1;
    }
    let mut rec = head.into_bytes();
    rec.extend_from_slice(format!("{n} ").as_bytes());
    rec.resize(rec.len() + n, b'x');
    rec.push(b'\n');
    rec
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let header = format!("Version 3.{}\n# namespace test\n", input[0] & 3).into_bytes();
    let data = &input[3..];
    if data.first() == Some(&b'#') {
        return; // would be a meta line right after the header, but not after the filler
    }
    let k = u16::from_le_bytes([input[1], input[2]]) as usize % (data.len() + 1);

    let mut plain = header.clone();
    plain.extend_from_slice(data);
    let expected = read_all(&plain);

    let fill = filler(WINDOW - header.len() - k);
    let mut padded = header.clone();
    padded.extend_from_slice(&fill);
    let data_at = padded.len();
    padded.extend_from_slice(data);
    let got = read_all(&padded);

    let shifted_lines = 6; // the filler's lines
    let shifted_bytes = (data_at - header.len()) as u64;
    let mut want = expected;
    // The filler is written in the writer's own form, so it encodes back to itself.
    want.entities.insert(0, fill);
    if let Some((_, Some(p))) = &mut want.error {
        p.line += shifted_lines;
        p.offset += shifted_bytes;
    }
    assert_eq!(got, want, "window edge at {k} of {} bytes changes the result", data.len());
});

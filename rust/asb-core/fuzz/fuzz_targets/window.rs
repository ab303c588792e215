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

use std::cell::RefCell;

use asb_core::{Entity, Reader, Value};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{read_rest, Outcome};

/// `INITIAL_WINDOW` in `src/read.rs`.
const WINDOW: usize = 1 << 20;
const FILLER_HEAD: &[u8] = b"+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n+ b 1\n- S f ";
const FILLER_LINES: u64 = 6;

/// Reads all of `text`; with `filler`, the first entity must be the filler record with a
/// string of that length (checked, not encoded, to keep runs fast). Lines are left out:
/// the filler adds its own.
fn read_all(text: &[u8], filler: Option<usize>) -> Outcome {
    let mut reader = match Reader::new(text) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e),
    };
    if let Some(n) = filler {
        match reader.next_entity() {
            Ok(Some(Entity::Record(r))) => {
                let bins: Vec<_> = r.bins().collect();
                assert!(matches!(bins[..], [(b"f", Value::Str(s))] if s.len() == n), "filler");
            }
            other => panic!("filler record expected, got {other:?}"),
        }
    }
    Outcome { lines: 0, ..read_rest(&mut reader) }
}

/// Appends a record with one string bin of about `len` bytes in all; returns the string length.
fn push_filler(out: &mut Vec<u8>, len: usize) -> usize {
    // FILLER_HEAD, "<n> ", n bytes, LF.
    let fixed = FILLER_HEAD.len() + 2;
    let mut n = len.saturating_sub(fixed);
    while n > 0 && fixed + n.to_string().len() + n > len {
        n -= 1;
    }
    out.extend_from_slice(FILLER_HEAD);
    out.extend_from_slice(format!("{n} ").as_bytes());
    out.resize(out.len() + n, b'x');
    out.push(b'\n');
    n
}

thread_local! {
    static PADDED: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(WINDOW + 8192));
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let header = format!("Version 3.{}\n# namespace test\n", input[0] & 3).into_bytes();
    let data = &input[3..];
    if data.first() == Some(&b'#') {
        return; // a meta line right after the header, but an error after the filler
    }
    let k = u16::from_le_bytes([input[1], input[2]]) as usize % (data.len() + 1);

    let mut plain = header.clone();
    plain.extend_from_slice(data);
    let mut want = read_all(&plain, None);

    PADDED.with_borrow_mut(|padded| {
        padded.clear();
        padded.extend_from_slice(&header);
        let n = push_filler(padded, WINDOW - header.len() - k);
        let filler_bytes = (padded.len() - header.len()) as u64;
        padded.extend_from_slice(data);
        let got = read_all(padded, Some(n));

        if let Some((_, Some(p))) = &mut want.error {
            p.line += FILLER_LINES;
            p.offset += filler_bytes;
        }
        assert_eq!(got, want, "window edge at {k} of {} bytes changes the result", data.len());
    });
});

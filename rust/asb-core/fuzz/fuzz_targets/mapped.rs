//! A mapped file and the same bytes read through the window give the same result.
//!
//! Mapped reading gives back parsed pages every few MiB and moves its window past them, so
//! this target puts a filler record of that size plus `k` bytes in front of the fuzzed
//! entities: their errors are then located after a release. Both readers must return the
//! same entities, the same error message and the same position.
//!
//! Input: byte 0 picks the version (3.0 to 3.3), bytes 1-2 pick `k`, the rest is the text
//! after the header.
#![no_main]

use std::sync::Arc;

use asb_core::Reader;
use libfuzzer_sys::fuzz_target;

mod common;
use common::{read_rest, Outcome};

/// `RELEASE_STEP` in `src/read.rs`.
const RELEASE_STEP: usize = 4 << 20;
const FILLER_HEAD: &[u8] = b"+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n+ b 1\n- S f ";

fn read_all<R: std::io::Read>(reader: Result<Reader<R>, asb_core::Error>) -> Outcome {
    match reader {
        Ok(mut r) => read_rest(&mut r),
        Err(e) => Outcome::failed(e),
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let mut text = format!("Version 3.{}\n# namespace test\n", input[0] & 3).into_bytes();
    let k = u16::from_le_bytes([input[1], input[2]]) as usize % 4096;
    let data = &input[3..];
    if data.first() != Some(&b'#') {
        // A filler record ending `k` bytes past the first release step.
        let n = RELEASE_STEP + k - text.len() - FILLER_HEAD.len() - 9;
        text.extend_from_slice(FILLER_HEAD);
        text.extend_from_slice(format!("{n} ").as_bytes());
        text.resize(text.len() + n, b'x');
        text.push(b'\n');
    }
    text.extend_from_slice(data);

    let mut anon = memmap2::MmapMut::map_anon(text.len()).expect("map");
    anon.copy_from_slice(&text);
    let map = Arc::new(anon.make_read_only().expect("read-only"));
    let mapped = read_all(Reader::mapped(std::io::empty(), map, 0, None, None, None));
    let streamed = read_all(Reader::new(&text[..]));
    assert_eq!(mapped, streamed);
});

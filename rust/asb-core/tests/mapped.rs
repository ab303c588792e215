//! A mapped file and a stream read through the window give the same entities and the same
//! errors, on clean and on damaged input.

use std::sync::Arc;

use asb_core::synth::Rng;
use asb_core::{Entity, Reader};

/// What reading gives, in a form that compares: entities as their Debug text, then the error.
fn outcome(mut reader: Result<Reader<impl std::io::Read>, asb_core::Error>) -> Vec<String> {
    let mut seen = Vec::new();
    let reader = match reader.as_mut() {
        Ok(r) => r,
        Err(e) => return vec![format!("{e:?}")],
    };
    loop {
        match reader.next_entity() {
            Ok(Some(Entity::Record(r))) => seen.push(format!("{r:?}")),
            Ok(Some(e)) => seen.push(format!("{e:?}")),
            Ok(None) => return seen,
            Err(e) => {
                seen.push(format!("{e:?}"));
                return seen;
            }
        }
    }
}

fn mapped(text: &[u8]) -> Result<Reader<std::io::Empty>, asb_core::Error> {
    let mut anon = memmap2::MmapMut::map_anon(text.len().max(1)).unwrap();
    anon[..text.len()].copy_from_slice(text);
    if text.is_empty() {
        return Reader::new(std::io::empty()); // empty files are read, not mapped
    }
    let map = Arc::new(anon.make_read_only().unwrap());
    Reader::mapped(std::io::empty(), map, 0, None, None, None)
}

/// A reader that hands out a few bytes at a time, so the window refills often.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn mapped_and_streamed_readers_agree_on_damaged_files() {
    let mut clean = Vec::new();
    asb_core::synth::write_synthetic(&mut clean, 200_000, 9).unwrap();
    let mut rng = Rng::new(17);
    let mut failed = 0;
    for round in 0..300 {
        let mut text = clean.clone();
        // A few random byte changes, a cut, or nothing (the first round).
        if round > 0 {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(text.len() as u64) as usize;
                text[at] = b" \n+-0aZ=\\\0"[rng.below(10) as usize];
            }
            if rng.below(4) == 0 {
                text.truncate(rng.below(text.len() as u64) as usize);
            }
        }
        let from_map = outcome(mapped(&text));
        let streamed = outcome(Reader::new(Trickle(&text, 1 + rng.below(5000) as usize)));
        assert_eq!(from_map.len(), streamed.len(), "round {round}");
        assert_eq!(from_map, streamed, "round {round}");
        failed += from_map.last().is_some_and(|e| e.starts_with("Error")) as u32;
    }
    assert!(failed > 100, "most damaged files must fail: {failed}");
}

/// Past the first few megabytes a mapped reader gives its parsed pages back and moves its
/// window: errors found there keep their lines and columns.
#[test]
fn errors_after_released_pages_keep_their_positions() {
    let mut clean = Vec::new();
    asb_core::synth::write_synthetic(&mut clean, 14_000_000, 4).unwrap();
    let mut rng = Rng::new(23);
    for round in 0..12 {
        let mut text = clean.clone();
        let at = 5_000_000 + rng.below(8_500_000) as usize;
        text[at] = b"\n+\0x"[round % 4];
        let mut from_map = mapped(&text).unwrap();
        let mut streamed = Reader::new(Trickle(&text, 1 << 16)).unwrap();
        let mut n = 0u64;
        loop {
            let (a, b) = (from_map.next_entity(), streamed.next_entity());
            match (a, b) {
                (Ok(Some(_)), Ok(Some(_))) => {
                    n += 1;
                    // Where the entity just read began, as a deep finding would report it
                    // (now and then: each look counts the lines of the window).
                    if n.is_multiple_of(499) {
                        let start = from_map.offset() - from_map.last_entity_len();
                        assert_eq!(from_map.position_of(start), streamed.position_of(start));
                    }
                }
                (Ok(None), Ok(None)) => break,
                (Err(x), Err(y)) => {
                    assert_eq!(format!("{x:?}"), format!("{y:?}"), "round {round}");
                    break;
                }
                (x, y) => panic!("round {round} after {n}: {:?} / {:?}", x.err(), y.err()),
            }
        }
        assert!(
            n > 10_000,
            "round {round}: the damage must be far in ({n} entities)"
        );
        assert_eq!(
            from_map.lines_read(),
            streamed.lines_read(),
            "round {round}"
        );
    }
}

//! Decodes a plain `.asb` file and prints counts and speed: `cargo run --release --example decode FILE`.

use std::time::Instant;

use asb_core::{Entity, Reader};

fn main() {
    let path = std::env::args().nth(1).expect("usage: decode FILE");
    let start = Instant::now();
    let mut reader = Reader::new(std::fs::File::open(&path).expect("open")).expect("header");
    let (mut records, mut bins) = (0u64, 0u64);
    while let Some(e) = reader.next_entity().expect("parse") {
        if let Entity::Record(r) = e {
            records += 1;
            bins += r.bin_count() as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = reader.offset() as f64 / 1e6;
    println!(
        "{records} records, {bins} bins, {mb:.1} MB in {secs:.3}s: {:.0} MB/s",
        mb / secs
    );
}

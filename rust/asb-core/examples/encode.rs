//! Encodes the records of a plain `.asb` file again and prints the speed:
//! `cargo run --release --example encode FILE`.

use std::time::Instant;

use asb_core::{Entity, Reader, Writer};

fn main() {
    let path = std::env::args().nth(1).expect("usage: encode FILE");
    let mut reader = Reader::new(std::fs::File::open(&path).expect("open")).expect("header");
    let header = reader.header().clone();
    let mut records = Vec::new();
    while let Some(e) = reader.next_entity().expect("parse") {
        if let Entity::Record(r) = e {
            records.push(r.clone());
        }
    }
    let start = Instant::now();
    // Into a sink: the encoder's cost, not the page faults of a 200 MB buffer.
    let mut w = Writer::new(std::io::sink(), &header).expect("writer");
    for r in &records {
        w.write_record(r).expect("encode");
    }
    let bytes = w.text_bytes();
    w.into_inner().expect("done");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} records, {:.1} MB in {secs:.3}s: {:.0} MB/s",
        records.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
}

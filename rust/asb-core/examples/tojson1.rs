use std::io::Write;
use std::time::Instant;

use asb_core::json::record_to_json;
use asb_core::{Entity, Reader};

fn main() {
    let path = std::env::args().nth(1).expect("usage: tojson1 FILE");
    let start = Instant::now();
    let mut reader = Reader::new(std::fs::File::open(&path).expect("open")).expect("header");
    let mut buf = Vec::with_capacity(2 << 20);
    let mut sink = std::io::sink();
    let mut n = 0;
    while let Some(e) = reader.next_entity().expect("parse") {
        if let Entity::Record(r) = e {
            record_to_json(&mut buf, r);
            n += 1;
            if buf.len() >= 1 << 20 {
                sink.write_all(&buf).unwrap();
                buf.clear();
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} records in {secs:.3}s: {:.0} MB/s",
        reader.offset() as f64 / 1e6 / secs
    );
}

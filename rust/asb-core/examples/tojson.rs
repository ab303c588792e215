//! Converts a plain `.asb` file to JSON Lines in memory and prints speed:
//! `cargo run --release --example tojson FILE`.

use std::time::Instant;

use asb_core::convert::{asb_to_jsonl, Counts, Filter};

fn main() {
    let path = std::env::args().nth(1).expect("usage: tojson FILE");
    let start = Instant::now();
    let mut reader = asb_core::source::open_path(
        path.as_ref(),
        &asb_core::Layers::default(),
        Default::default(),
    )
    .expect("open");
    let mut counts = Counts::default();
    let mut sink = std::io::sink();
    asb_to_jsonl(
        &mut reader,
        None,
        &mut sink,
        &Filter::default(),
        &mut counts,
        || Ok(()),
    )
    .expect("convert");
    let secs = start.elapsed().as_secs_f64();
    let mb = reader.offset() as f64 / 1e6;
    println!(
        "{} records, {mb:.1} MB in {secs:.3}s: {:.0} MB/s",
        counts.records,
        mb / secs
    );
}

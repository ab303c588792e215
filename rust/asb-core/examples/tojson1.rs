//! Converts a plain `.asb` file to JSON Lines in pieces on N threads and prints speed:
//! `cargo run --release --example tojson1 FILE THREADS [PIECE_BYTES]`.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use asb_core::convert::{asb_files_to_jsonl, Counts, Filter};
use asb_core::parallel::plan;
use asb_core::Layers;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("usage: tojson1 FILE THREADS"));
    let threads: usize = args.next().map_or(2, |t| t.parse().expect("threads"));
    let piece: u64 = args
        .next()
        .map_or(4 << 20, |t| t.parse().expect("piece bytes"));
    let start = Instant::now();
    let layers = Layers::default();
    let planned = plan(&[path], &layers, piece).expect("plan");
    let mut counts = Counts::default();
    let raw = Arc::new(AtomicU64::new(0));
    let mut sink = std::io::sink();
    asb_files_to_jsonl(
        &planned,
        &layers,
        threads,
        &raw,
        &mut sink,
        &Filter::default(),
        &mut counts,
        || Ok(()),
    )
    .expect("convert");
    let secs = start.elapsed().as_secs_f64();
    let mb = raw.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
    println!(
        "{} records, {mb:.1} MB in {secs:.3}s: {:.0} MB/s",
        counts.records,
        mb / secs
    );
}

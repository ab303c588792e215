//! Converts a plain `.asb` file to JSON Lines into a sink and prints the speed:
//! `cargo run --release --example tojson FILE [THREADS [PIECE_BYTES]]`. Without THREADS,
//! as `asbkit convert` does on two cores (parse | encode); with it, in pieces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use asb_core::convert::{asb_files_to_jsonl, asb_to_jsonl, Counts, Filter};
use asb_core::Layers;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = std::path::PathBuf::from(args.next().expect("usage: tojson FILE [THREADS]"));
    let threads: Option<usize> = args.next().map(|t| t.parse().expect("threads"));
    let piece: u64 = args
        .next()
        .map_or(4 << 20, |p| p.parse().expect("piece bytes"));
    let (layers, filter) = (Layers::default(), Filter::default());
    let raw = Arc::new(AtomicU64::new(0));
    let mut counts = Counts::default();
    let mut sink = std::io::sink();
    let start = Instant::now();
    match threads {
        None => {
            let mut reader =
                asb_core::source::open_path(&path, &layers, raw.clone()).expect("open");
            asb_to_jsonl(
                &mut reader,
                None,
                &mut sink,
                &filter,
                &mut counts,
                || Ok(()),
            )
        }
        Some(threads) => {
            let planned = asb_core::parallel::plan(&[path], &layers, piece).expect("plan");
            let out = &mut sink;
            asb_files_to_jsonl(
                &planned,
                &layers,
                threads,
                &raw,
                out,
                &filter,
                &mut counts,
                || Ok(()),
            )
        }
    }
    .expect("convert");
    let secs = start.elapsed().as_secs_f64();
    let mb = raw.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "{} records, {mb:.1} MB in {secs:.3}s: {:.0} MB/s",
        counts.records,
        mb / secs
    );
}

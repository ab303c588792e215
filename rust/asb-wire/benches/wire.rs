//! The wire layer's own costs on the fixed-mix synthetic records (`asb_core::synth`), with
//! no server: decoding scan replies into records, encoding restore batch rows, and the
//! verify comparison. `memcpy` of the same bytes is the same-run baseline.
//!
//! `cargo bench -p asb-wire`; `ASB_BENCH_RECORDS` sets the record count (default 100,000).

use std::hint::black_box;

use asb_core::synth::{synth_record, Rng};
use asb_core::Record;
use asb_wire::scan::{decode_reply, DecodeOptions, ScanOutcome};
use asb_wire::verify::{compare, row_parts, BinValue};
use asb_wire::write::{batch_message, encode_row, encode_write, WritePolicy};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn records() -> Vec<Record> {
    let n: u64 = std::env::var("ASB_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng::new(7);
    (0..n)
        .map(|i| {
            let mut r = Record::new();
            synth_record(&mut rng, i, b"bench", &mut r);
            r
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let recs = records();
    let policy = WritePolicy {
        generation_gt: true,
        send_key: true,
        timeout_ms: 10_000,
        ..WritePolicy::default()
    };
    // A scan reply body: the records as record messages, back to back.
    let reply: Vec<u8> = recs
        .iter()
        .flat_map(|r| encode_write(r, None, 0, &policy)[8..].to_vec())
        .collect();
    let mut rows = Vec::new();
    let mut bounds = Vec::new();
    let mut scratch = Vec::new();
    for r in &recs {
        let start = rows.len();
        encode_row(&mut rows, &mut scratch, r, None, 100, &policy);
        bounds.push((start, rows.len()));
    }

    let mut g = c.benchmark_group("wire");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(reply.len() as u64));
    g.bench_function("memcpy (baseline)", |b| b.iter(|| black_box(reply.clone())));
    g.bench_function("decode scan reply", |b| {
        b.iter(|| {
            let mut rec = Record::new();
            let mut outcome = ScanOutcome::default();
            let mut n = 0u64;
            let mut sink = |_: &Record| {
                n += 1;
                Ok(())
            };
            decode_reply(
                &reply,
                DecodeOptions::default(),
                &mut rec,
                &mut outcome,
                &mut sink,
            )
            .expect("decodes");
            black_box(n)
        })
    });
    g.throughput(Throughput::Bytes(rows.len() as u64));
    g.bench_function("encode batch rows", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(rows.len());
            let mut scratch = Vec::new();
            for r in &recs {
                encode_row(&mut out, &mut scratch, r, None, 100, &policy);
            }
            black_box(out.len())
        })
    });
    g.bench_function("batch messages of 128", |b| {
        b.iter(|| {
            let mut total = 0;
            for chunk in bounds.chunks(128) {
                total += batch_message(chunk.iter().map(|&(a, z)| &rows[a..z]), 1000).len();
            }
            black_box(total)
        })
    });
    // What a node answers for each row: the bins as it stores them.
    let answers: Vec<Vec<BinValue>> = bounds
        .iter()
        .map(|&(a, z)| {
            let (_, bins) = row_parts(&rows[a..z]).expect("row");
            bins.into_iter()
                .map(|(name, ptype, value)| BinValue {
                    name: name.to_vec(),
                    particle_type: ptype,
                    value: value.to_vec(),
                })
                .collect()
        })
        .collect();
    g.bench_function("verify compare", |b| {
        b.iter(|| {
            let mut same = 0;
            for (&(a, z), got) in bounds.iter().zip(&answers) {
                same += compare(&rows[a..z], got, false).expect("row").is_none() as u64;
            }
            assert_eq!(same, recs.len() as u64);
            black_box(same)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

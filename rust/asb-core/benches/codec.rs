//! Codec throughput on the fixed-mix synthetic corpus (`asb_core::synth`).
//!
//! `cargo bench -p asb-core`; `ASB_BENCH_MB` sets the corpus size (default 64 MB of text).
//! Throughput is text bytes per second; `memcpy` is the same-run baseline.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::Duration;

use asb_core::layers::{open_reader, LayeredWriter};
use asb_core::{Cipher, EncryptionKey, Entity, Layers, Reader, Record, Writer};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus() -> Vec<u8> {
    let mb: u64 = std::env::var("ASB_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut text = Vec::new();
    asb_core::synth::write_synthetic(&mut text, mb * 1_000_000, 1).expect("synthetic corpus");
    text
}

fn layered(text: &[u8], layers: &Layers) -> Vec<u8> {
    let mut w = LayeredWriter::new(Vec::new(), layers).expect("layers");
    w.write_all(text).expect("write");
    w.finish().expect("finish")
}

fn count_records(src: impl Read) -> u64 {
    let mut reader = Reader::new(src).expect("header");
    let mut n = 0;
    while let Some(e) = reader.next_entity().expect("valid corpus") {
        if let Entity::Record(r) = e {
            n += black_box(r.bin_count() as u64).min(1);
        }
    }
    n
}

fn benches(c: &mut Criterion) {
    let text = corpus();
    let key = EncryptionKey::from_material(Cipher::Aes256, b"benchmark key material");
    let zstd = Layers {
        zstd: true,
        zstd_level: 0,
        encryption: None,
    };
    let zstd_aes = Layers {
        zstd: true,
        zstd_level: 0,
        encryption: Some(key.clone()),
    };
    let aes = Layers {
        zstd: false,
        zstd_level: 0,
        encryption: Some(key),
    };
    let text_zstd = layered(&text, &zstd);
    let text_zstd_aes = layered(&text, &zstd_aes);

    let records: Vec<Record> = {
        let mut reader = Reader::new(&text[..]).expect("header");
        let mut v = Vec::new();
        while let Some(e) = reader.next_entity().expect("valid") {
            if let Entity::Record(r) = e {
                v.push(r.clone());
            }
        }
        v
    };
    let header = Reader::new(&text[..]).expect("header").header().clone();

    let mut g = c.benchmark_group("codec");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("memcpy (baseline)", |b| b.iter(|| black_box(text.clone())));
    g.bench_function("decode plain", |b| b.iter(|| count_records(&text[..])));
    g.bench_function("decode zstd", |b| {
        b.iter(|| count_records(open_reader(&text_zstd[..], &zstd).expect("zstd")))
    });
    g.bench_function("decode zstd+aes256", |b| {
        b.iter(|| count_records(open_reader(&text_zstd_aes[..], &zstd_aes).expect("zstd+aes")))
    });
    g.bench_function("zstd only (no parsing)", |b| {
        b.iter(|| {
            std::io::copy(
                &mut open_reader(&text_zstd[..], &zstd).expect("zstd"),
                &mut std::io::sink(),
            )
        })
    });
    g.bench_function("encode", |b| {
        b.iter(|| {
            // Into a sink: the encoder's cost, not page faults of a fresh buffer.
            let mut w = Writer::new(std::io::sink(), &header).expect("writer");
            for r in &records {
                w.write_record(r).expect("encode");
            }
            black_box(w.text_bytes())
        })
    });
    g.bench_function("to JSON (one thread, records in memory)", |b| {
        let mut out = Vec::with_capacity(4 << 20);
        b.iter(|| {
            let mut total = 0;
            for r in &records {
                asb_core::json::record_to_json(&mut out, r);
                if out.len() >= 1 << 20 {
                    total += out.len();
                    out.clear();
                }
            }
            black_box(total + out.len())
        })
    });
    g.bench_function("convert to JSON (parse | encode, into a sink)", |b| {
        b.iter(|| {
            let mut reader = Reader::new(&text[..]).expect("header");
            let mut counts = asb_core::convert::Counts::default();
            let filter = asb_core::convert::Filter::default();
            let mut sink = std::io::sink();
            asb_core::convert::asb_to_jsonl(
                &mut reader,
                None,
                &mut sink,
                &filter,
                &mut counts,
                || Ok(()),
            )
            .expect("convert");
            black_box(counts.records)
        })
    });
    g.bench_function("aes256 only", |b| {
        b.iter(|| black_box(layered(&text, &aes).len()))
    });
    g.finish();
}

criterion_group!(codec, benches);
criterion_main!(codec);

//! What one Aerospike node can take and give, with nothing of a backup or restore around it:
//! the yardsticks for `benches/test_bench_restore.py` and `test_bench_backup.py`.
//! - intake: synthetic records encoded into batches of 128 first (not timed), then only
//!   sent, by `ASB_BENCH_WRITERS` threads (default 20, as restores are measured);
//! - scan: every partition of the namespace read by `ASB_BENCH_SCANNERS` threads (default
//!   2), each record decoded, nothing written.
//!
//! `ASBKIT_TEST_HOST=127.0.0.1:3000 cargo bench -p asb-wire --bench ceilings`: writes into
//! namespace `test` (the synthetic records' sets); `ASB_BENCH_RECORDS` sets the count (default
//! 200,000). Without `ASBKIT_TEST_HOST` it measures nothing and says so.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use asb_core::synth::{synth_record, Rng};
use asb_core::Record;
use asb_wire::scan::{random_task_id, N_PARTITIONS};
use asb_wire::write::{batch_message, encode_row, write_batch, WritePolicy};
use asb_wire::{
    run_scan, ConnectOptions, Connection, DecodeOptions, PartitionCursor, ScanLimits, ScanRequest,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const NAMESPACE: &[u8] = b"test";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every record in batch messages of 128 rows, for `namespace`, never expiring.
fn batches(n: usize) -> Vec<(Vec<u8>, usize)> {
    let policy = WritePolicy {
        send_key: true,
        timeout_ms: 10_000,
        ..WritePolicy::default()
    };
    let mut rng = Rng::new(11);
    let mut rec = Record::new();
    let mut scratch = Vec::new();
    let mut out = Vec::new();
    let mut ids: Vec<u64> = (0..n as u64).collect();
    for chunk in ids.chunks_mut(128) {
        let mut rows = Vec::new();
        let mut bounds = Vec::new();
        for &mut i in chunk {
            synth_record(&mut rng, i, NAMESPACE, &mut rec);
            let start = rows.len();
            encode_row(
                &mut rows,
                &mut scratch,
                &rec,
                Some(NAMESPACE),
                u32::MAX,
                &policy,
            );
            bounds.push((start, rows.len()));
        }
        let msg = batch_message(bounds.iter().map(|&(a, z)| &rows[a..z]), 10_000);
        out.push((msg, bounds.len()));
    }
    out
}

/// Sends every batch once from `writers` threads; the time the sending took.
fn send_all(addr: &str, batches: &[(Vec<u8>, usize)], writers: usize) -> Duration {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..writers.max(1) {
            s.spawn(|| {
                let mut conn = Connection::open(addr, &ConnectOptions::default()).expect("connect");
                while let Some((msg, n)) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let answers = write_batch(&mut conn, msg, *n).expect("batch");
                    assert!(answers
                        .iter()
                        .all(|a| a.is_some_and(|a| a.result_code == 0)));
                }
            });
        }
    });
    started.elapsed()
}

/// Scans every partition on `scanners` threads, counting the records; the count.
fn scan_all(addr: &str, scanners: usize) -> u64 {
    let scanners = scanners.max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..scanners)
            .map(|i| {
                s.spawn(move || {
                    let pids = N_PARTITIONS * i / scanners..N_PARTITIONS * (i + 1) / scanners;
                    let request = ScanRequest {
                        namespace: NAMESPACE.to_vec(),
                        partitions: pids
                            .map(|pid| PartitionCursor {
                                pid: pid as u16,
                                after: None,
                            })
                            .collect(),
                        task_id: random_task_id(),
                        ..ScanRequest::default()
                    };
                    let mut conn =
                        Connection::open(addr, &ConnectOptions::default()).expect("connect");
                    let outcome = run_scan(
                        &mut conn,
                        &request,
                        DecodeOptions::default(),
                        ScanLimits::default(),
                        &mut |_: &Record| Ok(()),
                    );
                    assert!(outcome.error.is_none(), "{:?}", outcome.error);
                    outcome.records
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn bench(c: &mut Criterion) {
    let Ok(addr) = std::env::var("ASBKIT_TEST_HOST") else {
        eprintln!("ceilings: set ASBKIT_TEST_HOST (host:port of an Aerospike node) to measure");
        return;
    };
    let n = env_count("ASB_BENCH_RECORDS", 200_000);
    let batches = batches(n);
    let mut g = c.benchmark_group("node ceilings");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let writers = env_count("ASB_BENCH_WRITERS", 20);
    g.bench_function(format!("intake, {writers} writers"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| send_all(&addr, &batches, writers)).sum())
    });
    let held = scan_all(&addr, 1);
    g.throughput(Throughput::Elements(held));
    let scanners = env_count("ASB_BENCH_SCANNERS", 2);
    g.bench_function(format!("scan, {scanners} threads"), |b| {
        b.iter(|| assert_eq!(scan_all(&addr, scanners), held))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The restore engine against a real server (ASBKIT_TEST_HOST=host:port; namespace `bar`,
//! set `asbkit_engine`): a backup file written to the node, counted by outcome, then read
//! back by the verify mode, which finds every record the same and then one changed.
//! Ignored unless asked for (`-- --ignored`), with the server.

use std::sync::Arc;
use std::time::Duration;

use asb_core::digest::compute_digest;
use asb_core::{Header, Key, Layers, Record, Value, Writer};
use asb_wire::restore::{run, Restore, RestoreConfig, Routes};
use asb_wire::scan::N_PARTITIONS;
use asb_wire::write::{encode_write, write_record, WritePolicy};
use asb_wire::{ConnectOptions, Connection};
use std::sync::atomic::Ordering;

const SET: &[u8] = b"asbkit_engine";
const N: i64 = 700;

/// The test server: these tests are ignored unless asked for (`cargo test -p asb-wire --
/// --ignored`, which tests/cluster/test_wire_live.py runs when the server is set).
fn host() -> String {
    std::env::var("ASBKIT_TEST_HOST")
        .expect("set ASBKIT_TEST_HOST=host:port to a test Aerospike server")
}

fn record(i: i64, value: i64) -> Record {
    let mut r = Record::new();
    r.set_namespace(b"bar");
    r.set_set(Some(SET));
    let key = Key::Int(i);
    r.digest = compute_digest(SET, &key);
    r.set_key(Some(key));
    r.generation = 1;
    r.push_bin(b"v", Value::Int(value));
    r.push_bin(
        b"l",
        Value::Blob {
            blob_type: asb_core::BlobType::List,
            bytes: &[0x92, 1, 0xa2, 3, b'x'],
            compact: false,
        },
    );
    r
}

fn config(verify: bool) -> RestoreConfig {
    RestoreConfig {
        expect_namespace: None,
        write_namespace: None,
        sets: None,
        bins: None,
        no_records: false,
        no_indexes: false,
        no_udfs: false,
        policy: WritePolicy {
            send_key: true,
            timeout_ms: 10_000,
            ..WritePolicy::default()
        },
        extra_ttl: 0,
        batch_writes: true,
        batch_size: 64,
        max_async_batches: 4,
        readers: 1,
        writers: 3,
        max_retries: 2,
        retry_scale: Duration::from_millis(10),
        ignore_record_error: false,
        connect: ConnectOptions::default(),
        tps: 0,
        bandwidth: 0,
        verify,
    }
}

fn run_once(addr: &str, path: &std::path::Path, verify: bool) -> Arc<Restore> {
    let restore = Arc::new(Restore::new());
    restore.routes.publish(Routes {
        nodes: vec![addr.to_string()],
        masters: vec![Some(0); N_PARTITIONS],
    });
    run(
        &config(verify),
        vec![path.to_path_buf().into()],
        &Layers::default(),
        &restore,
    );
    assert!(restore.take_fatal().is_none());
    restore
}

#[test]
#[ignore = "needs a test Aerospike server (ASBKIT_TEST_HOST)"]
fn a_file_restores_and_verifies_record_by_record() {
    let addr = host();
    let dir = std::env::temp_dir().join(format!("asbkit-live-restore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("engine.asb");
    let mut w = Writer::new(
        std::fs::File::create(&path).unwrap(),
        &Header::new(b"bar", true),
    )
    .unwrap();
    for i in 0..N {
        w.write_record(&record(i, i * 2)).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    // Without generation checks, so the test can run again on the same server.
    let restore = Arc::new(Restore::new());
    restore.routes.publish(Routes {
        nodes: vec![addr.clone()],
        masters: vec![Some(0); N_PARTITIONS],
    });
    let mut cfg = config(false);
    cfg.policy.generation_gt = false;
    run(
        &cfg,
        vec![path.clone().into()],
        &Layers::default(),
        &restore,
    );
    assert!(restore.take_fatal().is_none());
    let c = &restore.counters;
    let written = c.inserted.load(Ordering::Relaxed) + c.updated.load(Ordering::Relaxed);
    assert_eq!(
        (
            c.read.load(Ordering::Relaxed),
            written,
            c.in_flight.load(Ordering::Relaxed)
        ),
        (N as u64, N as u64, 0)
    );

    let checked = run_once(&addr, &path, true);
    assert_eq!(checked.counters.same.load(Ordering::Relaxed), N as u64);

    // One record changed on the server: verify names it.
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    let msg = encode_write(&record(5, -1), None, u32::MAX, &WritePolicy::default());
    assert_eq!(write_record(&mut conn, &msg).unwrap().result_code, 0);
    let checked = run_once(&addr, &path, true);
    let c = &checked.counters;
    assert_eq!(
        (
            c.same.load(Ordering::Relaxed),
            c.different.load(Ordering::Relaxed)
        ),
        (N as u64 - 1, 1)
    );
    let f = checked.failures();
    assert_eq!(
        (f[0].digest, f[0].message.as_str()),
        (record(5, 0).digest, "bin 'v' differs")
    );
    std::fs::remove_dir_all(&dir).ok();
}

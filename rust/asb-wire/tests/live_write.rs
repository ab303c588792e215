//! Writes against a real server (ASBKIT_TEST_HOST=host:port; namespace `bar`, set
//! `asbkit_wire`): records written with raw particles, one by one and in batches, read back
//! by a partition scan as the same `.asb` text; asrestore's generation and exists policies
//! answered as the wire spec says. Ignored unless asked for (`-- --ignored`), with the server.

use asb_core::digest::compute_digest;
use asb_core::synth::{synth_record, Rng};
use asb_core::write::encode_record;
use asb_core::{BlobType, Key, Record, Value};
use asb_wire::scan::{run_scan, DecodeOptions, PartitionCursor, ScanLimits, ScanRequest};
use asb_wire::write::{encode_write, write_batch, write_record, BatchWrite, Exists, WritePolicy};
use asb_wire::{ConnectOptions, Connection};

const SET: &[u8] = b"asbkit_wire";

/// The test server: these tests are ignored unless asked for (`cargo test -p asb-wire --
/// --ignored`, which tests/cluster/test_wire_live.py runs when the server is set).
fn host() -> String {
    std::env::var("ASBKIT_TEST_HOST")
        .expect("set ASBKIT_TEST_HOST=host:port to a test Aerospike server")
}

/// Records of every kind the server stores from a backup, in set `SET` of `bar`.
fn records(seed: u64, n: u64) -> Vec<Record> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let mut r = Record::new();
        synth_record(&mut rng, seed * 1_000_000 + i, b"bar", &mut r);
        r.set_set(Some(SET));
        r.digest = match r.key() {
            Some(k) => compute_digest(SET, &k),
            None => compute_digest(SET, &Key::Int(-((seed * 1_000_000 + i) as i64))),
        };
        r.void_time = 0;
        r.generation = 1;
        out.push(r);
    }
    let mut special = Record::new();
    special.set_namespace(b"bar");
    special.set_set(Some(SET));
    special.set_key(Some(Key::Bytes {
        bytes: b"\x00raw",
        compact: false,
    }));
    special.digest = compute_digest(
        SET,
        &Key::Bytes {
            bytes: b"\x00raw",
            compact: false,
        },
    );
    special.generation = 1;
    // Ordered list, KV-ordered map (the wire spec's bytes), GeoJSON, a Python blob, a bool.
    special.push_bin(
        b"ol",
        Value::Blob {
            blob_type: BlobType::List,
            bytes: &[0x94, 0xc7, 0, 1, 1, 2, 3],
            compact: false,
        },
    );
    special.push_bin(
        b"kvm",
        Value::Blob {
            blob_type: BlobType::Map,
            bytes: &[0x83, 0xc7, 0, 3, 0xc0, 0xa2, 3, b'a', 2, 0xa2, 3, b'z', 1],
            compact: false,
        },
    );
    special.push_bin(
        b"geo",
        Value::GeoJson(br#"{"type": "Point", "coordinates": [1.5, 2.5]}"#),
    );
    special.push_bin(
        b"py",
        Value::Blob {
            blob_type: BlobType::Python,
            bytes: b"\x80\x04K\x01.",
            compact: false,
        },
    );
    special.push_bin(b"t", Value::Bool(true));
    special.push_bin(b"sp ace", Value::Str(b"x\ny"));
    out.push(special);
    out
}

/// Reads the records back by their partitions: digest -> text without `+ g`/`+ t` (the
/// server keeps its own generation and void time).
fn read_back(addr: &str, recs: &[Record]) -> std::collections::HashMap<[u8; 20], String> {
    let mut pids: Vec<u16> = recs
        .iter()
        .map(|r| asb_wire::proto::partition_of(&r.digest))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    let req = ScanRequest {
        namespace: b"bar".to_vec(),
        set: Some(SET.to_vec()),
        partitions: pids
            .iter()
            .map(|&pid| PartitionCursor { pid, after: None })
            .collect(),
        socket_timeout_ms: 10_000,
        task_id: asb_wire::scan::random_task_id(),
        ..ScanRequest::default()
    };
    let mut conn = Connection::open(addr, &ConnectOptions::default()).unwrap();
    let mut out = std::collections::HashMap::new();
    let outcome = run_scan(
        &mut conn,
        &req,
        DecodeOptions::default(),
        ScanLimits::default(),
        &mut |r: &Record| {
            out.insert(r.digest, text_of(r));
            Ok(())
        },
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    out
}

/// The text without `+ g`, `+ t` and the synthetic records' unordered `stats` maps: the
/// server sorts an unordered map's keys on write, which the synthetic
/// maps are not; ordered lists and maps are checked byte for byte.
fn text_of(r: &Record) -> String {
    let mut t = Vec::new();
    encode_record(&mut t, r, false).unwrap();
    String::from_utf8_lossy(&t)
        .lines()
        .filter(|l| {
            !l.starts_with("+ g ") && !l.starts_with("+ t ") && !l.starts_with("- M stats ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs a test Aerospike server (ASBKIT_TEST_HOST)"]
fn written_records_read_back_as_the_same_text_one_by_one_and_in_batches() {
    let addr = host();
    let policy = WritePolicy {
        send_key: true,
        timeout_ms: 10_000,
        ..WritePolicy::default()
    };
    let singles = records(1, 150);
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    for r in &singles {
        let res = write_record(&mut conn, &encode_write(r, None, u32::MAX, &policy)).unwrap();
        assert_eq!(res.result_code, 0, "{}", text_of(r));
    }
    let batched = records(2, 300);
    let mut batch = BatchWrite::new();
    for chunk in batched.chunks(64) {
        for r in chunk {
            batch.push(r, None, u32::MAX, &policy);
        }
        let n = batch.len();
        let results = write_batch(&mut conn, &batch.finish(10_000), n).unwrap();
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Some(w) if w.result_code == 0)),
            "{results:?}"
        );
    }
    for recs in [&singles, &batched] {
        let back = read_back(&addr, recs);
        for r in recs.iter() {
            assert_eq!(
                back.get(&r.digest),
                Some(&text_of(r)),
                "record read back differs"
            );
        }
    }
}

#[test]
#[ignore = "needs a test Aerospike server (ASBKIT_TEST_HOST)"]
fn generation_and_exists_policies_answer_as_asrestore_expects() {
    let addr = host();
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    let mut rec = records(3, 1).remove(0);
    let plain = WritePolicy::default();
    let first = write_record(&mut conn, &encode_write(&rec, None, u32::MAX, &plain)).unwrap();
    assert_eq!(first.result_code, 0);
    let stored = first.generation;
    // GEN_GT with the stored generation: "fresher on the server" (3).
    rec.generation = stored as u16;
    let gt = WritePolicy {
        generation_gt: true,
        ..plain
    };
    assert_eq!(
        write_record(&mut conn, &encode_write(&rec, None, u32::MAX, &gt))
            .unwrap()
            .result_code,
        3
    );
    rec.generation = stored as u16 + 5;
    let ok = write_record(&mut conn, &encode_write(&rec, None, u32::MAX, &gt)).unwrap();
    assert_eq!(
        (ok.result_code, ok.generation),
        (0, stored + 1),
        "the server does not adopt the sent generation"
    );
    // --unique on an existing record: 5, in a batch too.
    let unique = WritePolicy {
        exists: Exists::Create,
        ..plain
    };
    assert_eq!(
        write_record(&mut conn, &encode_write(&rec, None, u32::MAX, &unique))
            .unwrap()
            .result_code,
        5
    );
    let mut b = BatchWrite::new();
    b.push(&rec, None, u32::MAX, &unique);
    let r = write_batch(&mut conn, &b.finish(10_000), 1).unwrap();
    assert_eq!(r[0].map(|w| w.result_code), Some(5));
    // An unknown namespace is refused as such.
    assert_eq!(
        write_record(
            &mut conn,
            &encode_write(&rec, Some(b"nosuchns"), u32::MAX, &plain)
        )
        .unwrap()
        .result_code,
        20
    );
}

//! The scan decoder against canned streams sent over a real loopback socket: the request
//! as the server receives it, records as `.asb` text, partition-done markers, errors.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use asb_core::{Header, Writer};
use asb_wire::proto::*;
use asb_wire::scan::{run_scan, DecodeOptions, PartitionCursor, ScanLimits, ScanRequest};
use asb_wire::{ConnectOptions, Connection, WireErrorKind};

struct Bin<'a>(&'a str, u8, &'a [u8]);

fn record_msg(
    digest: [u8; 20],
    set: Option<&str>,
    key: Option<&[u8]>,
    gen: u32,
    void: u32,
    bins: &[Bin<'_>],
) -> Vec<u8> {
    let mut m = MsgBuilder::new(MsgHeader {
        generation: gen,
        record_ttl: void,
        ..MsgHeader::default()
    });
    m.field(FIELD_NAMESPACE, b"test")
        .field(FIELD_DIGEST, &digest);
    if let Some(s) = set {
        m.field(FIELD_SET, s.as_bytes());
    }
    if let Some(k) = key {
        m.field(FIELD_KEY, k);
    }
    for b in bins {
        m.op(OP_READ, b.1, b.0.as_bytes(), b.2);
    }
    m.finish()[8..].to_vec()
}

fn control_msg(info3: u8, rc: u8, generation: u32) -> Vec<u8> {
    MsgBuilder::new(MsgHeader {
        info3,
        result_code: rc,
        generation,
        ..MsgHeader::default()
    })
    .finish()[8..]
        .to_vec()
}

fn proto(messages: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = messages.concat();
    let mut out = proto_header(TYPE_MSG, body.len()).to_vec();
    out.extend_from_slice(&body);
    out
}

/// A one-shot node: reads one request, answers with `reply`, hands back the request.
fn serve(reply: Vec<u8>) -> (String, thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut head = [0u8; 8];
        s.read_exact(&mut head).unwrap();
        let (_, size) = parse_proto_header(head).unwrap();
        let mut body = vec![0; size];
        s.read_exact(&mut body).unwrap();
        s.write_all(&reply).unwrap();
        body
    });
    (addr, h)
}

fn digest(pid: u16, n: u8) -> [u8; 20] {
    let mut d = [n; 20];
    d[..2].copy_from_slice(&pid.to_le_bytes());
    d
}

/// The digests the sink received, in order: how far each partition got.
struct Seen(Vec<[u8; 20]>);

impl Seen {
    fn of(&self, pid: u16) -> impl Iterator<Item = &[u8; 20]> {
        self.0.iter().filter(move |d| partition_of(d) == pid)
    }

    fn count(&self, pid: u16) -> usize {
        self.of(pid).count()
    }

    fn last(&self, pid: u16) -> Option<[u8; 20]> {
        self.of(pid).last().copied()
    }
}

fn scan_to_text(
    reply: Vec<u8>,
    req: &ScanRequest,
    opts: DecodeOptions,
) -> (Vec<u8>, asb_wire::ScanOutcome, Seen, Vec<u8>) {
    let (addr, server) = serve(reply);
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    let mut seen = Seen(Vec::new());
    let mut w = Writer::new(Vec::new(), &Header::new(b"test", false)).unwrap();
    let outcome = run_scan(
        &mut conn,
        req,
        opts,
        ScanLimits::default(),
        &mut |r: &asb_core::Record| {
            seen.0.push(r.digest);
            w.write_record(r)
                .map_err(|e| asb_wire::WireError::new(WireErrorKind::Output, e.to_string()))
        },
    );
    let text = w.into_inner().unwrap();
    (text, outcome, seen, server.join().unwrap())
}

#[test]
fn records_become_asb_text_with_raw_particles() {
    let geo = [
        &[0u8, 0, 1][..],
        &[0x80, 0x8f, 0xb8, 0xa2, 0x47, 0x95, 0x43, 0x93],
        br#"{"type":"Point"}"#,
    ]
    .concat();
    let bins = [
        Bin("i", 1, &(-7i64).to_be_bytes()),
        Bin("d", 2, &2.5f64.to_be_bytes()),
        Bin("s", 3, b"a b"),
        Bin("b", 4, &[0, 255]),
        Bin("p", 9, b"pk"),
        Bin("z", 17, &[1]),
        Bin("ol", 20, &[0x94, 0xc7, 0, 1, 1, 2, 3]),
        Bin("m", 19, &[0x81, 0xa2, 3, b'a', 1]),
        Bin("g", 23, &geo),
        Bin("h", 18, &[1, 2, 3]),
        Bin("j", 7, b"J"),
        Bin("c", 8, b"C"),
        Bin("r", 10, b"R"),
        Bin("hp", 11, b"H"),
        Bin("e", 12, b"E"),
    ];
    let d1 = digest(5, 1);
    let d2 = digest(5, 2);
    let d3 = digest(7, 3);
    let reply = [
        proto(&[
            record_msg(d1, Some("s1"), Some(b"\x03user-1"), 3, 541665843, &bins),
            record_msg(
                d2,
                None,
                Some(&[&[1u8][..], &42i64.to_be_bytes()].concat()),
                1,
                0,
                &[],
            ),
        ]),
        proto(&[
            record_msg(
                d3,
                Some("s1"),
                Some(b"\x04\x00\x01"),
                2,
                0,
                &[Bin("n", 0, b"")],
            ),
            control_msg(INFO3_PARTITION_DONE, 11, 9),
            control_msg(INFO3_LAST, 0, 0),
        ]),
    ]
    .concat();
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![
            PartitionCursor {
                pid: 5,
                after: None,
            },
            PartitionCursor {
                pid: 7,
                after: None,
            },
            PartitionCursor {
                pid: 9,
                after: Some(digest(9, 0)),
            },
        ],
        socket_timeout_ms: 10_000,
        task_id: 77,
        ..ScanRequest::default()
    };
    let (text, outcome, progress, request) = scan_to_text(reply, &req, DecodeOptions::default());
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.records, 3);
    assert_eq!(outcome.unavailable, vec![9]);
    assert_eq!(progress.count(5), 2);
    assert_eq!(progress.last(5), Some(d2));
    assert_eq!(progress.last(7), Some(d3));
    let text = String::from_utf8(text).unwrap();
    let b64 = |d: &[u8]| {
        let mut v = Vec::new();
        asb_core::b64::encode_append(d, &mut v);
        String::from_utf8(v).unwrap()
    };
    let expected = format!(
        "Version 3.1\n# namespace test\n\
         + k S 6 user-1\n+ n test\n+ d {}\n+ s s1\n+ g 3\n+ t 541665843\n+ b 15\n\
         - I i -7\n- D d 2.5\n- S s 3 a b\n- B b 4 AP8=\n- P p 4 cGs=\n- Z z T\n\
         - L ol 12 lMcAAQECAw==\n- M m 8 gaIDYQE=\n- G g 16 {{\"type\":\"Point\"}}\n- Y h 4 AQID\n\
         - J j 4 Sg==\n- C c 4 Qw==\n- R r 4 Ug==\n- H hp 4 SA==\n- E e 4 RQ==\n\
         + k I 42\n+ n test\n+ d {}\n+ g 1\n+ t 0\n+ b 0\n\
         + k B 4 AAE=\n+ n test\n+ d {}\n+ s s1\n+ g 2\n+ t 0\n+ b 1\n- N n\n",
        b64(&d1),
        b64(&d2),
        b64(&d3)
    );
    assert_eq!(text, expected);

    // The request, as the node read it.
    let h = MsgHeader::parse(&request).unwrap();
    assert_eq!(
        (h.info1, h.info3, h.record_ttl, h.n_ops),
        (INFO1_READ, INFO3_PARTITION_DONE, u32::MAX, 0)
    );
    let mut pos = MSG_HEADER_LEN;
    let mut fields = Vec::new();
    for _ in 0..h.n_fields {
        let f = read_field(&request, &mut pos).unwrap();
        fields.push((f.kind, f.data.to_vec()));
    }
    assert_eq!(pos, request.len());
    let kinds: Vec<u8> = fields.iter().map(|f| f.0).collect();
    assert_eq!(
        kinds,
        [
            FIELD_NAMESPACE,
            FIELD_SOCKET_TIMEOUT,
            FIELD_TASK_ID,
            FIELD_PID_ARRAY,
            FIELD_DIGEST_ARRAY
        ]
    );
    assert_eq!(fields[3].1, [5, 0, 7, 0], "pids are little-endian u16");
    assert_eq!(fields[4].1, digest(9, 0));
    assert_eq!(fields[2].1, 77u64.to_be_bytes());
}

#[test]
fn compact_writes_raw_blobs_and_keys() {
    let reply = [
        proto(&[record_msg(
            digest(1, 1),
            None,
            Some(b"\x04ab"),
            1,
            0,
            &[Bin("b", 4, b"xy")],
        )]),
        proto(&[control_msg(INFO3_LAST, 0, 0)]),
    ]
    .concat();
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![PartitionCursor {
            pid: 1,
            after: None,
        }],
        ..ScanRequest::default()
    };
    let (text, outcome, _, _) = scan_to_text(reply, &req, DecodeOptions { compact: true });
    assert!(outcome.error.is_none());
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("+ k B! 2 ab\n"), "{text}");
    assert!(text.contains("- B! b 2 xy\n"), "{text}");
}

#[test]
fn bins_filters_and_limits_go_into_the_request() {
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        set: Some(b"s".to_vec()),
        bins: vec![b"a".to_vec(), b"bb".to_vec()],
        partitions: vec![PartitionCursor {
            pid: 4095,
            after: None,
        }],
        max_records: 10,
        records_per_second: 500,
        filter_exp: Some(vec![0x93, 0x01, 0x91, 0x45, 0xff]),
        ..ScanRequest::default()
    };
    let msg = req.encode();
    let h = MsgHeader::parse(&msg[8..]).unwrap();
    assert_eq!(h.n_ops, 2);
    let mut pos = 8 + MSG_HEADER_LEN;
    let mut kinds = Vec::new();
    for _ in 0..h.n_fields {
        let f = read_field(&msg, &mut pos).unwrap();
        kinds.push(f.kind);
        if f.kind == FIELD_MAX_RECORDS {
            assert_eq!(f.data, 10u64.to_be_bytes());
        }
        if f.kind == FIELD_RECORDS_PER_SECOND {
            assert_eq!(f.data, 500u32.to_be_bytes());
        }
    }
    assert_eq!(kinds, [0, 1, 10, 9, 7, 43, 11, 13]);
    let op = read_op(&msg, &mut pos).unwrap();
    assert_eq!((op.op, op.name), (OP_READ, &b"a"[..]));
    let no_bins = ScanRequest {
        no_bins: true,
        ..req
    }
    .encode();
    let h = MsgHeader::parse(&no_bins[8..]).unwrap();
    assert_eq!((h.info1, h.n_ops), (INFO1_READ | INFO1_NOBINDATA, 0));
}

#[test]
fn a_vector_bin_stops_the_scan_naming_record_and_bin() {
    let reply = proto(&[record_msg(
        digest(2, 9),
        Some("vs"),
        None,
        1,
        0,
        &[Bin("emb", 16, &[1, 2])],
    )]);
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![PartitionCursor {
            pid: 2,
            after: None,
        }],
        ..ScanRequest::default()
    };
    let (_, outcome, progress, _) = scan_to_text(reply, &req, DecodeOptions::default());
    let e = outcome.error.unwrap();
    assert_eq!(e.kind, WireErrorKind::Data);
    assert!(!e.retryable());
    let m = e.to_string();
    assert!(
        m.contains("set vs") && m.contains("bin 'emb'") && m.contains("vector"),
        "{m}"
    );
    assert_eq!(progress.count(2), 0);
}

#[test]
fn server_errors_and_dropped_connections_end_the_stream_with_progress_kept() {
    // rc 4 with no LAST: a job that could not start.
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![PartitionCursor {
            pid: 3,
            after: None,
        }],
        ..ScanRequest::default()
    };
    let (_, outcome, _, _) = scan_to_text(
        proto(&[control_msg(0, 4, 0)]),
        &req,
        DecodeOptions::default(),
    );
    let e = outcome.error.unwrap();
    assert_eq!(e.kind, WireErrorKind::Server(4));
    assert!(!e.retryable());
    assert_eq!(
        e.partition,
        Some(3),
        "a one-partition scan names its partition"
    );
    // One record, then the connection closes mid-stream.
    let d = digest(3, 1);
    let (_, outcome, progress, _) = scan_to_text(
        proto(&[record_msg(d, None, None, 1, 0, &[])]),
        &req,
        DecodeOptions::default(),
    );
    let e = outcome.error.unwrap();
    assert_eq!(e.kind, WireErrorKind::Connection);
    assert!(e.retryable(), "{e}");
    assert!(e.to_string().contains("127.0.0.1:"), "names the node: {e}");
    assert_eq!(progress.last(3), Some(d));
    // Over many partitions a failure names none.
    let many = ScanRequest {
        partitions: (0..4)
            .map(|pid| PartitionCursor { pid, after: None })
            .collect(),
        ..req.clone()
    };
    let (_, outcome, _, _) = scan_to_text(
        proto(&[control_msg(0, 4, 0)]),
        &many,
        DecodeOptions::default(),
    );
    assert_eq!(outcome.error.unwrap().partition, None);
}

/// A node that answers a scan with one record, then keeps the connection open and silent
/// for `silent_for`.
fn serve_then_stall(silent_for: std::time::Duration) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut head = [0u8; 8];
        s.read_exact(&mut head).unwrap();
        let (_, size) = parse_proto_header(head).unwrap();
        let mut body = vec![0; size];
        s.read_exact(&mut body).unwrap();
        s.write_all(&proto(&[record_msg(
            digest(1, 1),
            None,
            None,
            1,
            0,
            &[Bin("i", 1, &1i64.to_be_bytes())],
        )]))
        .unwrap();
        thread::sleep(silent_for);
    });
    addr
}

fn one_partition() -> ScanRequest {
    ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![PartitionCursor {
            pid: 1,
            after: None,
        }],
        ..ScanRequest::default()
    }
}

#[test]
fn a_stop_request_ends_a_scan_while_the_node_is_silent() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    let addr = serve_then_stall(Duration::from_secs(20));
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    let cancel = AtomicBool::new(false);
    let mut records = 0;
    let started = Instant::now();
    let outcome = thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(300));
            cancel.store(true, Ordering::Relaxed);
        });
        let limits = ScanLimits {
            deadline: None,
            cancel: Some(&cancel),
        };
        run_scan(
            &mut conn,
            &one_partition(),
            DecodeOptions::default(),
            limits,
            &mut |_: &asb_core::Record| {
                records += 1;
                Ok(())
            },
        )
    });
    // The socket timeout is 10 s: only the stop request can have ended it this soon.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcome.error.map(|e| e.kind),
        Some(WireErrorKind::Cancelled)
    );
    assert_eq!((records, outcome.records), (1, 1));
}

#[test]
fn a_node_silent_past_the_socket_timeout_is_a_timeout() {
    use std::time::{Duration, Instant};

    let addr = serve_then_stall(Duration::from_secs(20));
    let opts = ConnectOptions {
        socket_timeout: Duration::from_millis(400),
        ..ConnectOptions::default()
    };
    let mut conn = Connection::open(&addr, &opts).unwrap();
    let started = Instant::now();
    let outcome = run_scan(
        &mut conn,
        &one_partition(),
        DecodeOptions::default(),
        ScanLimits::default(),
        &mut |_: &asb_core::Record| Ok(()),
    );
    let took = started.elapsed();
    let err = outcome.error.expect("a timeout");
    assert_eq!(err.kind, WireErrorKind::Connection);
    assert!(err.message.contains("socket timeout"), "{}", err.message);
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn a_deadline_ends_a_scan_while_the_node_is_silent() {
    use std::time::{Duration, Instant};

    let addr = serve_then_stall(Duration::from_secs(20));
    let mut conn = Connection::open(&addr, &ConnectOptions::default()).unwrap();
    let started = Instant::now();
    let limits = ScanLimits {
        deadline: Some(Instant::now() + Duration::from_millis(300)),
        cancel: None,
    };
    let outcome = run_scan(
        &mut conn,
        &one_partition(),
        DecodeOptions::default(),
        limits,
        &mut |_: &asb_core::Record| Ok(()),
    );
    assert_eq!(
        outcome.error.map(|e| e.kind),
        Some(WireErrorKind::TotalTimeout)
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

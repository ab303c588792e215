//! Partition scans (the 8.x "query by partition"): the request, and the record stream
//! decoded straight into [`asb_core::Record`]s, each bin as its particle's own bytes.

use std::time::Duration;

use asb_core::{BlobType, Key, Record, Value};

use crate::conn::{Connection, ReadLimits};
use crate::error::{WireError, WireErrorKind, WireResult};
use crate::proto::*;

pub const N_PARTITIONS: usize = 4096;

/// Where a partition's scan starts: from its beginning, or strictly after a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionCursor {
    pub pid: u16,
    pub after: Option<[u8; 20]>,
}

#[derive(Clone, Debug, Default)]
pub struct ScanRequest {
    pub namespace: Vec<u8>,
    pub set: Option<Vec<u8>>,
    /// Bins to read; empty reads them all.
    pub bins: Vec<Vec<u8>>,
    pub no_bins: bool,
    pub partitions: Vec<PartitionCursor>,
    /// 0 = no cap.
    pub max_records: u64,
    /// 0 = no limit (the server throttles).
    pub records_per_second: u32,
    pub socket_timeout_ms: u32,
    pub filter_exp: Option<Vec<u8>>,
    pub task_id: u64,
}

impl ScanRequest {
    /// The request message, fields in the C client's order.
    pub fn encode(&self) -> Vec<u8> {
        let mut info1 = INFO1_READ;
        if self.no_bins {
            info1 |= INFO1_NOBINDATA;
        }
        let mut m = MsgBuilder::new(MsgHeader {
            info1,
            info3: INFO3_PARTITION_DONE,
            record_ttl: u32::MAX,
            ..MsgHeader::default()
        });
        m.field(FIELD_NAMESPACE, &self.namespace);
        if let Some(set) = &self.set {
            m.field(FIELD_SET, set);
        }
        if self.records_per_second > 0 {
            m.field(
                FIELD_RECORDS_PER_SECOND,
                &self.records_per_second.to_be_bytes(),
            );
        }
        m.field(FIELD_SOCKET_TIMEOUT, &self.socket_timeout_ms.to_be_bytes());
        m.field(FIELD_TASK_ID, &self.task_id.to_be_bytes());
        if let Some(exp) = &self.filter_exp {
            m.field(FIELD_FILTER_EXP, exp);
        }
        let fresh = self.partitions.iter().filter(|p| p.after.is_none()).count();
        if fresh > 0 {
            m.field_with(FIELD_PID_ARRAY, fresh * 2, |b| {
                for p in self.partitions.iter().filter(|p| p.after.is_none()) {
                    b.extend_from_slice(&p.pid.to_le_bytes());
                }
            });
        }
        let resumed = self.partitions.len() - fresh;
        if resumed > 0 {
            m.field_with(FIELD_DIGEST_ARRAY, resumed * 20, |b| {
                for p in &self.partitions {
                    if let Some(d) = &p.after {
                        b.extend_from_slice(d);
                    }
                }
            });
        }
        if self.max_records > 0 {
            m.field(FIELD_MAX_RECORDS, &self.max_records.to_be_bytes());
        }
        if !self.no_bins {
            for bin in &self.bins {
                m.op(OP_READ, 0, bin, b"");
            }
        }
        m.finish()
    }
}

/// How records are turned into `.asb` records.
#[derive(Clone, Copy, Debug, Default)]
pub struct DecodeOptions {
    /// `--compact`: blobs and bytes keys in the raw `!` form instead of base64.
    pub compact: bool,
}

#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub records: u64,
    /// `.asb` text the records made, where the sink counts it (a backup's scan does).
    pub text_bytes: u64,
    /// Partitions the node could not serve (not its master, or migrating): scan them again,
    /// after their last digest, where the partition map now says.
    pub unavailable: Vec<u16>,
    /// Why the stream ended before its last message, if it did.
    pub error: Option<WireError>,
}

/// What a scan does with each record. Returning an error stops the scan.
pub trait RecordSink {
    fn record(&mut self, rec: &Record) -> WireResult<()>;
}

impl<F: FnMut(&Record) -> WireResult<()>> RecordSink for F {
    fn record(&mut self, rec: &Record) -> WireResult<()> {
        self(rec)
    }
}

/// Limits that end a scan from the client side.
pub type ScanLimits<'a> = ReadLimits<'a>;

/// Sends `req` on `conn` and hands every record to `sink`, which keeps whatever progress
/// it needs (the backup keeps it with the text, see `backup`). Errors after the request
/// was sent end up in [`ScanOutcome::error`]: every record before them reached the sink.
pub fn run_scan(
    conn: &mut Connection,
    req: &ScanRequest,
    opts: DecodeOptions,
    limits: ScanLimits<'_>,
    sink: &mut dyn RecordSink,
) -> ScanOutcome {
    let mut outcome = ScanOutcome::default();
    if let Err(e) = conn.send(&req.encode()) {
        outcome.error = Some(in_the_one_partition(e, req));
        return outcome;
    }
    let mut body = Vec::with_capacity(1 << 20);
    let mut rec = Record::new();
    let addr = conn.addr().to_string();
    let result = (|| -> WireResult<()> {
        loop {
            let kind = conn.read_proto_within(&mut body, limits)?;
            let body = match kind {
                TYPE_MSG => &body[..],
                TYPE_COMPRESSED => {
                    return Err(WireError::protocol(
                        "the node sent a compressed reply, which this client did not ask for",
                    ))
                }
                other => {
                    return Err(WireError::protocol(format!(
                        "a scan was answered with a message of type {other}"
                    )))
                }
            };
            if decode_reply(body, opts, &mut rec, &mut outcome, sink)? {
                return Ok(());
            }
        }
    })();
    if let Err(e) = result {
        outcome.error = Some(in_the_one_partition(e.at(&addr), req));
    }
    outcome
}

/// A scan of one partition fails in that partition (of many, in none it could name).
fn in_the_one_partition(e: WireError, req: &ScanRequest) -> WireError {
    match req.partitions.as_slice() {
        [p] => e.in_partition(p.pid),
        _ => e,
    }
}

/// Decodes one reply body (the messages of one proto), handing each record to `sink`;
/// `Ok(true)` once the stream's last message came.
pub fn decode_reply(
    body: &[u8],
    opts: DecodeOptions,
    rec: &mut Record,
    outcome: &mut ScanOutcome,
    sink: &mut dyn RecordSink,
) -> WireResult<bool> {
    let mut pos = 0;
    while pos < body.len() {
        let h = MsgHeader::parse(&body[pos..])?;
        pos += MSG_HEADER_LEN;
        if h.info3 & INFO3_PARTITION_DONE != 0 {
            if h.result_code != 0 {
                outcome.unavailable.push(h.generation as u16);
            }
            skip_fields_ops(body, &mut pos, &h)?;
            continue;
        }
        if h.result_code != 0 {
            // A job that cannot start, or one the server ended: no LAST follows.
            return Err(WireError::server(h.result_code, "the scan ended"));
        }
        if h.is_last() {
            return Ok(true);
        }
        decode_record(body, &mut pos, &h, rec, opts)?;
        sink.record(rec)?;
        outcome.records += 1;
    }
    Ok(false)
}

fn skip_fields_ops(b: &[u8], pos: &mut usize, h: &MsgHeader) -> WireResult<()> {
    for _ in 0..h.n_fields {
        read_field(b, pos)?;
    }
    for _ in 0..h.n_ops {
        read_op(b, pos)?;
    }
    Ok(())
}

/// Reads one record message (its header already parsed) into `rec`.
pub fn decode_record(
    b: &[u8],
    pos: &mut usize,
    h: &MsgHeader,
    rec: &mut Record,
    opts: DecodeOptions,
) -> WireResult<()> {
    rec.clear();
    let mut have_digest = false;
    for _ in 0..h.n_fields {
        let f = read_field(b, pos)?;
        match f.kind {
            FIELD_NAMESPACE => rec.set_namespace(f.data),
            FIELD_SET => rec.set_set(Some(f.data)),
            FIELD_DIGEST => {
                rec.digest = f.data.try_into().map_err(|_| {
                    WireError::protocol(format!("a digest of {} bytes", f.data.len()))
                })?;
                have_digest = true;
            }
            FIELD_KEY => {
                let key = decode_key(f.data, opts).map_err(|m| record_error(rec, None, &m))?;
                rec.set_key(Some(key));
            }
            _ => {}
        }
    }
    if !have_digest {
        return Err(WireError::protocol(
            "a scanned record came without its digest",
        ));
    }
    rec.generation = h.generation as u16;
    rec.void_time = h.record_ttl;
    for _ in 0..h.n_ops {
        let op = read_op(b, pos)?;
        let value = decode_value(op.particle_type, op.value, opts)
            .map_err(|m| record_error(rec, Some(op.name), &m))?;
        rec.push_bin(op.name, value);
    }
    Ok(())
}

fn record_error(rec: &Record, bin: Option<&[u8]>, message: &str) -> WireError {
    let mut digest = Vec::new();
    asb_core::b64::encode_append(&rec.digest, &mut digest);
    let mut where_ = format!("record {}", String::from_utf8_lossy(&digest));
    if let Some(set) = rec.set() {
        where_ += &format!(" (set {})", String::from_utf8_lossy(set));
    }
    if let Some(bin) = bin {
        where_ += &format!(", bin '{}'", String::from_utf8_lossy(bin));
    }
    WireError::new(WireErrorKind::Data, format!("{where_}: {message}"))
}

fn be_i64(v: &[u8]) -> Result<i64, String> {
    let a: [u8; 8] = v
        .try_into()
        .map_err(|_| format!("an 8-byte number came as {} bytes", v.len()))?;
    Ok(i64::from_be_bytes(a))
}

fn decode_key(data: &[u8], opts: DecodeOptions) -> Result<Key<'_>, String> {
    let (&ptype, v) = data.split_first().ok_or("an empty key field")?;
    Ok(match ptype {
        1 => Key::Int(be_i64(v)?),
        2 => Key::Double(f64::from_bits(be_i64(v)? as u64)),
        3 => Key::Str(v),
        4 => Key::Bytes {
            bytes: v,
            compact: opts.compact,
        },
        other => {
            return Err(format!(
                "a user key of particle type {other}, which a .asb file cannot carry"
            ))
        }
    })
}

/// One bin's particle as an `.asb` value; lists and maps stay the server's msgpack.
pub fn decode_value(ptype: u8, v: &[u8], opts: DecodeOptions) -> Result<Value<'_>, String> {
    let blob = |blob_type| Value::Blob {
        blob_type,
        bytes: v,
        compact: opts.compact,
    };
    Ok(match ptype {
        0 => Value::Nil,
        1 => Value::Int(be_i64(v)?),
        2 => Value::Double(f64::from_bits(be_i64(v)? as u64)),
        3 => Value::Str(v),
        4 => blob(BlobType::Blob),
        7 => blob(BlobType::Java),
        8 => blob(BlobType::CSharp),
        9 => blob(BlobType::Python),
        10 => blob(BlobType::Ruby),
        11 => blob(BlobType::Php),
        12 => blob(BlobType::Erlang),
        17 => match v {
            [b] => Value::Bool(*b != 0),
            _ => return Err(format!("a boolean of {} bytes", v.len())),
        },
        18 => blob(BlobType::Hll),
        19 => blob(BlobType::Map),
        20 => blob(BlobType::List),
        23 => {
            // flags, cell count, the cells the server computed, then the JSON text.
            if v.len() < 3 {
                return Err("a GeoJSON value shorter than its header".into());
            }
            let cells = u16::from_be_bytes([v[1], v[2]]) as usize;
            let start = 3 + 8 * cells;
            if v.len() < start {
                return Err("a GeoJSON value shorter than its cell list".into());
            }
            Value::GeoJson(&v[start..])
        }
        16 => return Err("holds a vector (particle type 16), which a .asb file cannot carry; leave the bin out with --bin-list".into()),
        other => return Err(format!("holds particle type {other}, which a .asb file cannot carry")),
    })
}

/// A fresh task id; the server refuses one that is still running.
pub fn random_task_id() -> u64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS gives random bytes");
    u64::from_le_bytes(b) & (u64::MAX >> 1)
}

/// Millisecond durations from the command line, 0 meaning none.
pub fn millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

//! Record writes for a restore: each bin goes out as its particle type and
//! the bytes the backup holds, so lists and maps are written as the server's own msgpack,
//! order flags and all. Single-record writes and batch writes (field 41).

use asb_core::{Key, Record, Value};

use crate::conn::Connection;
use crate::error::{WireError, WireResult};
use crate::proto::*;

const FIELD_BATCH: u8 = 41;
const INFO3_UPDATE_ONLY: u8 = 0x08;
const INFO3_REPLACE_ONLY: u8 = 0x20;

/// Seconds from the Unix epoch to the Citrusleaf epoch (2010-01-01).
pub const CITRUSLEAF_EPOCH: u64 = 1_262_304_000;

/// What a write may do to a record that exists (the C client's exists policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exists {
    /// Create or merge bins (asrestore's default).
    #[default]
    Ignore,
    /// Fail with 5 if it exists (`--unique`).
    Create,
    /// Replace all bins, creating it if missing (`--replace`).
    CreateOrReplace,
    Update,
    Replace,
}

/// How a restore writes: asrestore's policies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WritePolicy {
    pub exists: Exists,
    /// Write only over a lower generation (asrestore's default; off with `--no-generation`).
    pub generation_gt: bool,
    /// Send the user key with the record when the backup has one.
    pub send_key: bool,
    /// Server-side timeout, ms (0: none).
    pub timeout_ms: u32,
}

impl WritePolicy {
    /// asrestore's write policy from its flags (`-u`, `-r`, `-g`), the user key always sent;
    /// `-u` with `-r` or `-g` is refused, as asrestore refuses it.
    pub fn from_asrestore_flags(
        unique: bool,
        replace: bool,
        no_generation: bool,
        timeout_ms: u32,
    ) -> Result<WritePolicy, String> {
        if unique && (replace || no_generation) {
            return Err("--unique cannot be combined with --replace or --no-generation".into());
        }
        let exists = if unique {
            Exists::Create
        } else if replace {
            Exists::CreateOrReplace
        } else {
            Exists::Ignore
        };
        Ok(WritePolicy {
            exists,
            generation_gt: !no_generation,
            send_key: true,
            timeout_ms,
        })
    }

    fn info2(&self) -> u8 {
        let mut info2 = INFO2_WRITE;
        if self.generation_gt {
            info2 |= INFO2_GENERATION_GT;
        }
        if self.exists == Exists::Create {
            info2 |= INFO2_CREATE_ONLY;
        }
        info2
    }

    fn info3(&self) -> u8 {
        match self.exists {
            Exists::CreateOrReplace => INFO3_CREATE_OR_REPLACE,
            Exists::Update => INFO3_UPDATE_ONLY,
            Exists::Replace => INFO3_REPLACE_ONLY,
            Exists::Ignore | Exists::Create => 0,
        }
    }
}

/// The TTL a restored record is written with, from its void time (asrestore's rule):
/// never-expiring stays so; an expirable void time gets `extra_ttl` added and becomes the
/// seconds left; `None` when it has passed (the record is skipped as expired).
pub fn ttl_from_void_time(void_time: u32, now_clepoch: u64, extra_ttl: i64) -> Option<u32> {
    if void_time == 0 {
        return Some(u32::MAX);
    }
    let t = void_time as i64 + extra_ttl;
    if t <= now_clepoch as i64 {
        return None;
    }
    Some((t - now_clepoch as i64).min(u32::MAX as i64 - 2) as u32)
}

/// The seconds since the Citrusleaf epoch now.
pub fn now_clepoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(CITRUSLEAF_EPOCH))
        .unwrap_or(0)
}

/// A bin's particle type and bytes on the wire (GeoJSON with an empty cell list).
pub fn particle(value: &Value<'_>, scratch: &mut Vec<u8>) -> u8 {
    scratch.clear();
    match *value {
        Value::Nil => 0,
        Value::Bool(b) => {
            scratch.push(b as u8);
            17
        }
        Value::Int(v) => {
            scratch.extend_from_slice(&v.to_be_bytes());
            1
        }
        Value::Double(v) => {
            scratch.extend_from_slice(&v.to_bits().to_be_bytes());
            2
        }
        Value::Str(s) => {
            scratch.extend_from_slice(s);
            3
        }
        Value::GeoJson(s) => {
            scratch.extend_from_slice(&[0, 0, 0]);
            scratch.extend_from_slice(s);
            23
        }
        Value::Blob {
            blob_type, bytes, ..
        } => {
            scratch.extend_from_slice(bytes);
            blob_type.particle_type()
        }
    }
}

fn key_field(key: &Key<'_>, out: &mut Vec<u8>) {
    out.clear();
    match *key {
        Key::Int(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Key::Double(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_bits().to_be_bytes());
        }
        Key::Str(s) => {
            out.push(3);
            out.extend_from_slice(s);
        }
        Key::Bytes { bytes, .. } => {
            out.push(4);
            out.extend_from_slice(bytes);
        }
    }
}

/// One record's write message; `namespace` replaces the record's (`-n old,new`).
pub fn encode_write(
    rec: &Record,
    namespace: Option<&[u8]>,
    ttl: u32,
    policy: &WritePolicy,
) -> Vec<u8> {
    let mut m = MsgBuilder::new(MsgHeader {
        info2: policy.info2(),
        info3: policy.info3(),
        generation: if policy.generation_gt {
            rec.generation as u32
        } else {
            0
        },
        record_ttl: ttl,
        transaction_ttl: policy.timeout_ms,
        ..MsgHeader::default()
    });
    m.field(FIELD_NAMESPACE, namespace.unwrap_or(rec.namespace()));
    if let Some(set) = rec.set() {
        m.field(FIELD_SET, set);
    }
    let mut scratch = Vec::new();
    if let (true, Some(key)) = (policy.send_key, rec.key()) {
        key_field(&key, &mut scratch);
        m.field(FIELD_KEY, &scratch);
    }
    m.field(FIELD_DIGEST, &rec.digest);
    for i in 0..rec.bin_count() {
        let (name, value) = rec.bin(i);
        let ptype = particle(&value, &mut scratch);
        m.op(OP_WRITE, ptype, name, &scratch);
    }
    m.finish()
}

/// The result of one write: the record's new generation, or the server's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteResult {
    pub result_code: u8,
    pub generation: u32,
}

/// Sends one write and reads its answer.
pub fn write_record(conn: &mut Connection, msg: &[u8]) -> WireResult<WriteResult> {
    conn.send(msg)?;
    let mut body = Vec::new();
    let kind = conn.read_proto(&mut body)?;
    if kind != TYPE_MSG {
        return Err(WireError::protocol(format!(
            "a write was answered with a message of type {kind}"
        )));
    }
    let h = MsgHeader::parse(&body)?;
    Ok(WriteResult {
        result_code: h.result_code,
        generation: h.generation,
    })
}

/// Batch writes (field 41): rows of records, one message; each row's answer comes back
/// with its index.
pub struct BatchWrite {
    rows: Vec<u8>,
    n_rows: u32,
    scratch: Vec<u8>,
}

/// Parent flags the C client sends: inline, respond for every key, report error records.
const BATCH_PARENT_FLAGS: u8 = 0x0D;
const ROW_HAS_EXTRA_INFO: u8 = 0x02;
const ROW_HAS_GENERATION: u8 = 0x04;
const ROW_HAS_RECORD_TTL: u8 = 0x08;

impl Default for BatchWrite {
    fn default() -> BatchWrite {
        BatchWrite::new()
    }
}

impl BatchWrite {
    pub fn new() -> BatchWrite {
        BatchWrite {
            rows: Vec::with_capacity(64 * 1024),
            n_rows: 0,
            scratch: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.n_rows as usize
    }

    pub fn is_empty(&self) -> bool {
        self.n_rows == 0
    }

    /// Adds a row; its index is the number of rows before it.
    pub fn push(&mut self, rec: &Record, namespace: Option<&[u8]>, ttl: u32, policy: &WritePolicy) {
        self.rows.extend_from_slice(&self.n_rows.to_be_bytes());
        encode_row(
            &mut self.rows,
            &mut self.scratch,
            rec,
            namespace,
            ttl,
            policy,
        );
        self.n_rows += 1;
    }

    /// The batch message; the rows are cleared for the next batch.
    pub fn finish(&mut self, timeout_ms: u32) -> Vec<u8> {
        let mut m = MsgBuilder::new(MsgHeader {
            info1: INFO1_BATCH,
            transaction_ttl: timeout_ms,
            ..MsgHeader::default()
        });
        let (n, rows) = (self.n_rows, std::mem::take(&mut self.rows));
        m.field_with(FIELD_BATCH, 5 + rows.len(), |b| {
            b.extend_from_slice(&n.to_be_bytes());
            b.push(BATCH_PARENT_FLAGS);
            b.extend_from_slice(&rows);
        });
        self.rows = rows;
        self.rows.clear();
        self.n_rows = 0;
        m.finish()
    }
}

/// One batch row after its index: digest, attributes, namespace (first), set, key, ops.
pub fn encode_row(
    r: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    rec: &Record,
    namespace: Option<&[u8]>,
    ttl: u32,
    policy: &WritePolicy,
) {
    r.extend_from_slice(&rec.digest);
    r.push(ROW_HAS_EXTRA_INFO | ROW_HAS_GENERATION | ROW_HAS_RECORD_TTL);
    r.push(0); // info1
    r.push(policy.info2() | INFO2_RESPOND_ALL_OPS);
    r.push(policy.info3());
    // Rows carry a 16-bit generation (GEN_GT compares with wrap-around).
    r.extend_from_slice(
        &(if policy.generation_gt {
            rec.generation
        } else {
            0
        })
        .to_be_bytes(),
    );
    r.extend_from_slice(&ttl.to_be_bytes());
    let key = if policy.send_key { rec.key() } else { None };
    let n_fields: u16 = 1 + rec.set().is_some() as u16 + key.is_some() as u16;
    r.extend_from_slice(&n_fields.to_be_bytes());
    r.extend_from_slice(&(rec.bin_count() as u16).to_be_bytes());
    let mut field = |kind: u8, data: &[u8]| {
        r.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        r.push(kind);
        r.extend_from_slice(data);
    };
    // Namespace first; the digest is the row's own.
    field(FIELD_NAMESPACE, namespace.unwrap_or(rec.namespace()));
    if let Some(set) = rec.set() {
        field(FIELD_SET, set);
    }
    if let Some(key) = key {
        key_field(&key, scratch);
        field(FIELD_KEY, scratch);
    }
    for i in 0..rec.bin_count() {
        let (name, value) = rec.bin(i);
        let ptype = particle(&value, scratch);
        r.extend_from_slice(&((4 + name.len() + scratch.len()) as u32).to_be_bytes());
        r.extend_from_slice(&[OP_WRITE, ptype, 0, name.len() as u8]);
        r.extend_from_slice(name);
        r.extend_from_slice(scratch);
    }
}

/// A batch message of rows made by [`encode_row`], indexed in the order given.
pub fn batch_message<'a>(
    rows: impl ExactSizeIterator<Item = &'a [u8]> + Clone,
    timeout_ms: u32,
) -> Vec<u8> {
    let n = rows.len() as u32;
    let len = 5 + rows.clone().map(|r| 4 + r.len()).sum::<usize>();
    let mut m = MsgBuilder::new(MsgHeader {
        info1: INFO1_BATCH,
        transaction_ttl: timeout_ms,
        ..MsgHeader::default()
    });
    m.field_with(FIELD_BATCH, len, |b| {
        b.reserve(len);
        b.extend_from_slice(&n.to_be_bytes());
        b.push(BATCH_PARENT_FLAGS);
        for (i, row) in rows.enumerate() {
            b.extend_from_slice(&(i as u32).to_be_bytes());
            b.extend_from_slice(row);
        }
    });
    m.finish()
}

/// Sends a batch message and collects one answer per row, by row index (`n_rows` of them):
/// `answer` makes it from the row's header and ops. Batch writes and batch reads share it.
pub fn batch_answers<T: Clone>(
    conn: &mut Connection,
    msg: &[u8],
    n_rows: usize,
    mut answer: impl FnMut(&MsgHeader, Vec<Op<'_>>) -> T,
) -> WireResult<Vec<Option<T>>> {
    conn.send(msg)?;
    let mut answers = vec![None; n_rows];
    let mut body = Vec::new();
    loop {
        let kind = conn.read_proto(&mut body)?;
        if kind != TYPE_MSG {
            return Err(WireError::protocol(format!(
                "a batch was answered with a message of type {kind}"
            )));
        }
        let mut pos = 0;
        while pos < body.len() {
            let h = MsgHeader::parse(&body[pos..])?;
            pos += MSG_HEADER_LEN;
            for _ in 0..h.n_fields {
                read_field(&body, &mut pos)?;
            }
            let ops = (0..h.n_ops)
                .map(|_| read_op(&body, &mut pos))
                .collect::<WireResult<Vec<_>>>()?;
            if h.is_last() {
                if h.result_code != 0 {
                    return Err(WireError::server(h.result_code, "the batch failed"));
                }
                return Ok(answers);
            }
            let index = h.transaction_ttl as usize;
            match answers.get_mut(index) {
                Some(slot) => *slot = Some(answer(&h, ops)),
                None if n_rows == 0 || h.result_code != 0 => {
                    return Err(WireError::server(h.result_code, "the batch failed"))
                }
                None => {
                    return Err(WireError::protocol(format!(
                        "a batch answer for row {index} of {n_rows}"
                    )))
                }
            }
        }
    }
}

/// Sends a batch of writes and collects every row's result, by row index.
pub fn write_batch(
    conn: &mut Connection,
    msg: &[u8],
    n_rows: usize,
) -> WireResult<Vec<Option<WriteResult>>> {
    batch_answers(conn, msg, n_rows, |h, _| WriteResult {
        result_code: h.result_code,
        generation: h.generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use asb_core::BlobType;

    fn sample() -> Record {
        let mut r = Record::new();
        r.set_namespace(b"bar");
        r.set_set(Some(b"s"));
        r.set_key(Some(Key::Str(b"k1")));
        r.digest = [7; 20];
        r.generation = 3;
        r.push_bin(
            b"ol",
            Value::Blob {
                blob_type: BlobType::List,
                bytes: &[0x94, 0xc7, 0, 1, 1, 2, 3],
                compact: false,
            },
        );
        r.push_bin(b"g", Value::GeoJson(b"{}"));
        r.push_bin(b"i", Value::Int(-7));
        r
    }

    #[test]
    fn a_write_carries_raw_particles_and_asrestore_s_policy_bits() {
        let policy = WritePolicy {
            generation_gt: true,
            send_key: true,
            timeout_ms: 1000,
            ..WritePolicy::default()
        };
        let msg = encode_write(&sample(), Some(b"new"), 3600, &policy);
        let h = MsgHeader::parse(&msg[8..]).unwrap();
        assert_eq!(
            (h.info1, h.info2, h.info3),
            (0, INFO2_WRITE | INFO2_GENERATION_GT, 0)
        );
        assert_eq!(
            (
                h.generation,
                h.record_ttl,
                h.transaction_ttl,
                h.n_fields,
                h.n_ops
            ),
            (3, 3600, 1000, 4, 3)
        );
        let mut pos = 8 + MSG_HEADER_LEN;
        let fields: Vec<(u8, Vec<u8>)> = (0..h.n_fields)
            .map(|_| {
                read_field(&msg, &mut pos)
                    .map(|f| (f.kind, f.data.to_vec()))
                    .unwrap()
            })
            .collect();
        assert_eq!(fields[0], (FIELD_NAMESPACE, b"new".to_vec()));
        assert_eq!(fields[1], (FIELD_SET, b"s".to_vec()));
        assert_eq!(fields[2], (FIELD_KEY, b"\x03k1".to_vec()));
        assert_eq!(fields[3], (FIELD_DIGEST, vec![7; 20]));
        // The wire spec's own bytes for the ordered list (§7.2).
        assert_eq!(
            &msg[pos..pos + 17],
            &[0, 0, 0, 0x0d, 2, 0x14, 0, 2, b'o', b'l', 0x94, 0xc7, 0, 1, 1, 2, 3]
        );
        let ol = read_op(&msg, &mut pos).unwrap();
        assert_eq!(ol.particle_type, 20);
        let g = read_op(&msg, &mut pos).unwrap();
        assert_eq!((g.particle_type, g.value), (23, &b"\x00\x00\x00{}"[..]));
        let i = read_op(&msg, &mut pos).unwrap();
        assert_eq!((i.particle_type, i.value), (1, &(-7i64).to_be_bytes()[..]));
        assert_eq!(pos, msg.len());
    }

    #[test]
    fn exists_policies_set_the_c_client_s_bits() {
        let info = |exists| {
            let p = WritePolicy {
                exists,
                ..WritePolicy::default()
            };
            (p.info2(), p.info3())
        };
        assert_eq!(info(Exists::Ignore), (INFO2_WRITE, 0));
        assert_eq!(info(Exists::Create), (INFO2_WRITE | INFO2_CREATE_ONLY, 0));
        assert_eq!(info(Exists::CreateOrReplace), (INFO2_WRITE, 0x10));
        assert_eq!(info(Exists::Update), (INFO2_WRITE, 0x08));
        assert_eq!(info(Exists::Replace), (INFO2_WRITE, 0x20));
    }

    #[test]
    fn ttl_follows_asrestore() {
        assert_eq!(ttl_from_void_time(0, 1000, 0), Some(u32::MAX));
        assert_eq!(ttl_from_void_time(1500, 1000, 0), Some(500));
        assert_eq!(
            ttl_from_void_time(1000, 1000, 0),
            None,
            "expired at its void time"
        );
        assert_eq!(
            ttl_from_void_time(900, 1000, 200),
            Some(100),
            "--extra-ttl revives"
        );
        assert_eq!(
            ttl_from_void_time(0, 1000, 200),
            Some(u32::MAX),
            "never-expiring gets no extra"
        );
    }

    #[test]
    fn batch_rows_hold_ns_first_and_no_digest_field() {
        let mut b = BatchWrite::new();
        let policy = WritePolicy {
            generation_gt: true,
            ..WritePolicy::default()
        };
        b.push(&sample(), None, 10, &policy);
        b.push(&sample(), None, 20, &policy);
        let msg = b.finish(500);
        assert!(b.is_empty());
        let h = MsgHeader::parse(&msg[8..]).unwrap();
        assert_eq!(
            (h.info1, h.n_fields, h.n_ops, h.transaction_ttl),
            (INFO1_BATCH, 1, 0, 500)
        );
        let mut pos = 8 + MSG_HEADER_LEN;
        let f = read_field(&msg, &mut pos).unwrap();
        assert_eq!(f.kind, FIELD_BATCH);
        let d = f.data;
        assert_eq!(&d[..5], &[0, 0, 0, 2, BATCH_PARENT_FLAGS]);
        let row = &d[5..];
        assert_eq!(&row[..4], &[0, 0, 0, 0]);
        assert_eq!(&row[4..24], &[7; 20]);
        assert_eq!(row[24], 0x0E);
        assert_eq!(
            &row[25..28],
            &[
                0,
                INFO2_WRITE | INFO2_GENERATION_GT | INFO2_RESPOND_ALL_OPS,
                0
            ]
        );
        assert_eq!(&row[28..30], &3u16.to_be_bytes());
        assert_eq!(&row[30..34], &10u32.to_be_bytes());
        assert_eq!(
            &row[34..38],
            &[0, 2, 0, 3],
            "ns and set (no key without send_key), three bins"
        );
        assert_eq!(
            &row[38..46],
            &[0, 0, 0, 4, FIELD_NAMESPACE, b'b', b'a', b'r']
        );
    }
}

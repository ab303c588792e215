//! Framing: the 8-byte proto header, the 22-byte AS_MSG header, fields and ops.
//!
//! Every multi-byte integer is big-endian unless a comment says otherwise.

use crate::error::{WireError, WireResult};

pub const PROTO_VERSION: u8 = 2;
pub const TYPE_INFO: u8 = 1;
pub const TYPE_ADMIN: u8 = 2;
pub const TYPE_MSG: u8 = 3;
pub const TYPE_COMPRESSED: u8 = 4;
/// The largest body either side accepts (`PROTO_SIZE_MAX`).
pub const MAX_BODY: usize = 128 << 20;
pub const MSG_HEADER_LEN: usize = 22;

// info1
pub const INFO1_READ: u8 = 0x01;
pub const INFO1_GET_ALL: u8 = 0x02;
pub const INFO1_BATCH: u8 = 0x08;
pub const INFO1_NOBINDATA: u8 = 0x20;
// info2
pub const INFO2_WRITE: u8 = 0x01;
pub const INFO2_GENERATION_GT: u8 = 0x08;
pub const INFO2_CREATE_ONLY: u8 = 0x20;
pub const INFO2_RESPOND_ALL_OPS: u8 = 0x80;
// info3
pub const INFO3_LAST: u8 = 0x01;
pub const INFO3_PARTITION_DONE: u8 = 0x04;
pub const INFO3_CREATE_OR_REPLACE: u8 = 0x10;

// Field types.
pub const FIELD_NAMESPACE: u8 = 0;
pub const FIELD_SET: u8 = 1;
pub const FIELD_KEY: u8 = 2;
pub const FIELD_DIGEST: u8 = 4;
pub const FIELD_TASK_ID: u8 = 7;
pub const FIELD_SOCKET_TIMEOUT: u8 = 9;
pub const FIELD_RECORDS_PER_SECOND: u8 = 10;
pub const FIELD_PID_ARRAY: u8 = 11;
pub const FIELD_DIGEST_ARRAY: u8 = 12;
pub const FIELD_MAX_RECORDS: u8 = 13;
pub const FIELD_FILTER_EXP: u8 = 43;

pub const OP_READ: u8 = 1;
pub const OP_WRITE: u8 = 2;

/// The 8 bytes before every message: version, type, 48-bit body size.
pub fn proto_header(kind: u8, body_len: usize) -> [u8; 8] {
    let word = (u64::from(PROTO_VERSION) << 56) | (u64::from(kind) << 48) | body_len as u64;
    word.to_be_bytes()
}

/// Reads a proto header: (type, body size). Anything but version 2 or a body over 128 MiB
/// means we are not talking to an Aerospike node (or lost the framing).
pub fn parse_proto_header(b: [u8; 8]) -> WireResult<(u8, usize)> {
    let word = u64::from_be_bytes(b);
    let version = (word >> 56) as u8;
    let kind = (word >> 48) as u8;
    let size = (word & 0xFFFF_FFFF_FFFF) as usize;
    if version != PROTO_VERSION {
        return Err(WireError::protocol(format!(
            "the peer answered with protocol version {version}, not 2: is this an Aerospike service port?"
        )));
    }
    if size > MAX_BODY {
        return Err(WireError::protocol(format!(
            "a message of {size} bytes is announced, more than the 128 MiB any node sends"
        )));
    }
    Ok((kind, size))
}

/// The AS_MSG header (22 bytes after the proto header).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgHeader {
    pub info1: u8,
    pub info2: u8,
    pub info3: u8,
    pub info4: u8,
    pub result_code: u8,
    pub generation: u32,
    pub record_ttl: u32,
    pub transaction_ttl: u32,
    pub n_fields: u16,
    pub n_ops: u16,
}

impl MsgHeader {
    pub fn parse(b: &[u8]) -> WireResult<MsgHeader> {
        if b.len() < MSG_HEADER_LEN {
            return Err(WireError::protocol("a message ends inside its header"));
        }
        if b[0] as usize != MSG_HEADER_LEN {
            return Err(WireError::protocol(format!(
                "a message header says it is {} bytes long, not 22",
                b[0]
            )));
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Ok(MsgHeader {
            info1: b[1],
            info2: b[2],
            info3: b[3],
            info4: b[4],
            result_code: b[5],
            generation: u32_at(6),
            record_ttl: u32_at(10),
            transaction_ttl: u32_at(14),
            n_fields: u16::from_be_bytes([b[18], b[19]]),
            n_ops: u16::from_be_bytes([b[20], b[21]]),
        })
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(MSG_HEADER_LEN as u8);
        out.extend_from_slice(&[
            self.info1,
            self.info2,
            self.info3,
            self.info4,
            self.result_code,
        ]);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&self.record_ttl.to_be_bytes());
        out.extend_from_slice(&self.transaction_ttl.to_be_bytes());
        out.extend_from_slice(&self.n_fields.to_be_bytes());
        out.extend_from_slice(&self.n_ops.to_be_bytes());
    }
}

/// Builds one AS_MSG request: header, fields, ops; the proto size and counts are filled in
/// by [`MsgBuilder::finish`].
pub struct MsgBuilder {
    buf: Vec<u8>,
    n_fields: u16,
    n_ops: u16,
}

impl MsgBuilder {
    pub fn new(header: MsgHeader) -> MsgBuilder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0; 8]);
        header.write(&mut buf);
        MsgBuilder {
            buf,
            n_fields: 0,
            n_ops: 0,
        }
    }

    pub fn field(&mut self, kind: u8, data: &[u8]) -> &mut Self {
        self.buf
            .extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        self.buf.push(kind);
        self.buf.extend_from_slice(data);
        self.n_fields += 1;
        self
    }

    /// A field whose data the caller writes into `fill` (for long arrays).
    pub fn field_with(
        &mut self,
        kind: u8,
        len: usize,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> &mut Self {
        self.buf.extend_from_slice(&(len as u32 + 1).to_be_bytes());
        self.buf.push(kind);
        let start = self.buf.len();
        fill(&mut self.buf);
        debug_assert_eq!(self.buf.len() - start, len);
        self.n_fields += 1;
        self
    }

    pub fn op(&mut self, op: u8, particle_type: u8, name: &[u8], value: &[u8]) -> &mut Self {
        let size = 4 + name.len() + value.len();
        self.buf.extend_from_slice(&(size as u32).to_be_bytes());
        self.buf
            .extend_from_slice(&[op, particle_type, 0, name.len() as u8]);
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        self.n_ops += 1;
        self
    }

    pub fn finish(mut self) -> Vec<u8> {
        let body = self.buf.len() - 8;
        self.buf[..8].copy_from_slice(&proto_header(TYPE_MSG, body));
        self.buf[8 + 18..8 + 20].copy_from_slice(&self.n_fields.to_be_bytes());
        self.buf[8 + 20..8 + 22].copy_from_slice(&self.n_ops.to_be_bytes());
        self.buf
    }
}

/// One field of a received message, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a> {
    pub kind: u8,
    pub data: &'a [u8],
}

/// One op (bin) of a received message, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    pub op: u8,
    pub particle_type: u8,
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// Reads `n` fields from `b` at `*pos`.
pub fn read_field<'a>(b: &'a [u8], pos: &mut usize) -> WireResult<Field<'a>> {
    let p = *pos;
    if b.len() < p + 5 {
        return Err(WireError::protocol("a message ends inside a field header"));
    }
    let size = u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize;
    if size == 0 || b.len() < p + 4 + size {
        return Err(WireError::protocol(format!(
            "a field of {size} bytes runs past the end of its message"
        )));
    }
    *pos = p + 4 + size;
    Ok(Field {
        kind: b[p + 4],
        data: &b[p + 5..p + 4 + size],
    })
}

pub fn read_op<'a>(b: &'a [u8], pos: &mut usize) -> WireResult<Op<'a>> {
    let p = *pos;
    if b.len() < p + 8 {
        return Err(WireError::protocol("a message ends inside a bin header"));
    }
    let size = u32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize;
    let name_len = b[p + 7] as usize;
    if size < 4 + name_len || b.len() < p + 4 + size {
        return Err(WireError::protocol(format!(
            "a bin of {size} bytes runs past the end of its message"
        )));
    }
    *pos = p + 4 + size;
    Ok(Op {
        op: b[p + 4],
        particle_type: b[p + 5],
        name: &b[p + 8..p + 8 + name_len],
        value: &b[p + 8 + name_len..p + 4 + size],
    })
}

/// Partition id of a digest (the format's rule, in asb-core).
pub use asb_core::digest::partition_id as partition_of;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_header_round_trips_and_rejects_foreign_peers() {
        let h = proto_header(TYPE_MSG, 0x0102_0304_0506);
        assert_eq!(h, [2, 3, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            parse_proto_header(proto_header(TYPE_INFO, 17)).unwrap(),
            (1, 17)
        );
        let http = *b"HTTP/1.1";
        assert!(parse_proto_header(http)
            .unwrap_err()
            .to_string()
            .contains("version"));
        let huge = proto_header(TYPE_MSG, MAX_BODY + 1);
        assert!(parse_proto_header(huge).is_err());
    }

    #[test]
    fn builder_counts_fields_and_ops_and_sizes_the_body() {
        let mut m = MsgBuilder::new(MsgHeader {
            info1: INFO1_READ,
            info3: INFO3_PARTITION_DONE,
            record_ttl: u32::MAX,
            ..MsgHeader::default()
        });
        m.field(FIELD_NAMESPACE, b"test")
            .op(OP_READ, 0, b"bin", b"");
        let msg = m.finish();
        let (kind, size) = parse_proto_header(msg[..8].try_into().unwrap()).unwrap();
        assert_eq!((kind, size), (TYPE_MSG, msg.len() - 8));
        let h = MsgHeader::parse(&msg[8..]).unwrap();
        assert_eq!((h.n_fields, h.n_ops, h.info1, h.info3), (1, 1, 1, 4));
        assert_eq!(h.record_ttl, u32::MAX);
        let mut pos = 8 + MSG_HEADER_LEN;
        let f = read_field(&msg, &mut pos).unwrap();
        assert_eq!((f.kind, f.data), (FIELD_NAMESPACE, &b"test"[..]));
        let o = read_op(&msg, &mut pos).unwrap();
        assert_eq!((o.op, o.name, o.value), (OP_READ, &b"bin"[..], &b""[..]));
        assert_eq!(pos, msg.len());
        // Field layout: u32 size counting the type byte, type, data.
        assert_eq!(msg[30..35], [0, 0, 0, 5, 0]);
    }

    #[test]
    fn truncated_fields_and_ops_are_protocol_errors() {
        let b = [0, 0, 0, 9, 1, b'a'];
        assert!(read_field(&b, &mut 0).is_err());
        let b = [0, 0, 0, 3, 1, 0, 0, 5, b'a'];
        assert!(read_op(&b, &mut 0).is_err(), "name longer than the op");
    }

    #[test]
    fn partition_ids_come_from_the_first_two_digest_bytes_little_endian() {
        let mut d = [0u8; 20];
        d[0] = 0x34;
        d[1] = 0xF2;
        assert_eq!(partition_of(&d), 0x234);
    }
}

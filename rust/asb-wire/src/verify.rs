//! Reading records back by digest (batch reads, field 41) and comparing them with what a
//! backup holds, bin by bin, as the particle bytes the server keeps.
//!
//! The expected side is a batch *write* row ([`crate::write::encode_row`]): it already holds
//! the record's namespace and every bin as particle type plus bytes, so a verify reads the
//! files exactly as a restore does.

use crate::conn::Connection;
use crate::error::{WireError, WireResult};
use crate::proto::*;

const FIELD_BATCH: u8 = 41;
const BATCH_PARENT_FLAGS: u8 = 0x0D;
/// A write row's fixed part after its digest: flags, info1-3, generation, ttl.
const WRITE_ROW_ATTRS: usize = 1 + 3 + 2 + 4;

/// One bin as the server returned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinValue {
    pub name: Vec<u8>,
    pub particle_type: u8,
    pub value: Vec<u8>,
}

/// The answer for one row: its result code and, when found, its bins.
#[derive(Clone, Debug, Default)]
pub struct ReadAnswer {
    pub result_code: u8,
    pub generation: u32,
    pub void_time: u32,
    pub bins: Vec<BinValue>,
}

/// A bin of a write row: name, particle type, bytes.
pub type RowBin<'a> = (&'a [u8], u8, &'a [u8]);

/// A write row's namespace and bins, borrowed.
pub fn row_parts(row: &[u8]) -> WireResult<(&[u8], Vec<RowBin<'_>>)> {
    let bad = || WireError::protocol("a malformed batch row");
    let mut pos = 20 + WRITE_ROW_ATTRS;
    let counts = row.get(pos..pos + 4).ok_or_else(bad)?;
    let n_fields = u16::from_be_bytes([counts[0], counts[1]]);
    let n_ops = u16::from_be_bytes([counts[2], counts[3]]);
    pos += 4;
    let mut namespace: &[u8] = &[];
    for _ in 0..n_fields {
        let f = read_field(row, &mut pos)?;
        if f.kind == FIELD_NAMESPACE {
            namespace = f.data;
        }
    }
    let mut bins = Vec::with_capacity(n_ops as usize);
    for _ in 0..n_ops {
        let op = read_op(row, &mut pos)?;
        bins.push((op.name, op.particle_type, op.value));
    }
    Ok((namespace, bins))
}

/// A batch read of every bin of the rows' records, in the rows' order.
pub fn read_message<'a>(rows: impl ExactSizeIterator<Item = &'a [u8]>, timeout_ms: u32) -> WireResult<Vec<u8>> {
    let n = rows.len() as u32;
    let mut data = Vec::with_capacity(5 + rows.len() * 40);
    data.extend_from_slice(&n.to_be_bytes());
    data.push(BATCH_PARENT_FLAGS);
    for (i, row) in rows.enumerate() {
        let (namespace, _) = row_parts(row)?;
        data.extend_from_slice(&(i as u32).to_be_bytes());
        data.extend_from_slice(&row[..20]);
        data.push(0); // no extra attributes
        data.push(INFO1_READ | INFO1_GET_ALL);
        data.extend_from_slice(&1u16.to_be_bytes());
        data.extend_from_slice(&0u16.to_be_bytes());
        data.extend_from_slice(&(namespace.len() as u32 + 1).to_be_bytes());
        data.push(FIELD_NAMESPACE);
        data.extend_from_slice(namespace);
    }
    let mut m = MsgBuilder::new(MsgHeader { info1: INFO1_BATCH, transaction_ttl: timeout_ms, ..MsgHeader::default() });
    m.field(FIELD_BATCH, &data);
    Ok(m.finish())
}

/// Sends a batch read and collects every row's answer by row index.
pub fn read_batch(conn: &mut Connection, msg: &[u8], n_rows: usize) -> WireResult<Vec<Option<ReadAnswer>>> {
    conn.send(msg)?;
    let mut answers = vec![None; n_rows];
    let mut body = Vec::new();
    loop {
        let kind = conn.read_proto(&mut body)?;
        if kind != TYPE_MSG {
            return Err(WireError::protocol(format!("a batch read was answered with a message of type {kind}")));
        }
        let mut pos = 0;
        while pos < body.len() {
            let h = MsgHeader::parse(&body[pos..])?;
            pos += MSG_HEADER_LEN;
            for _ in 0..h.n_fields {
                read_field(&body, &mut pos)?;
            }
            let mut bins = Vec::with_capacity(h.n_ops as usize);
            for _ in 0..h.n_ops {
                let op = read_op(&body, &mut pos)?;
                bins.push(BinValue { name: op.name.to_vec(), particle_type: op.particle_type, value: op.value.to_vec() });
            }
            if h.is_last() {
                if h.result_code != 0 {
                    return Err(WireError::server(h.result_code, "the batch read failed"));
                }
                return Ok(answers);
            }
            let index = h.transaction_ttl as usize;
            let slot = answers
                .get_mut(index)
                .ok_or_else(|| WireError::protocol(format!("a batch answer for row {index} of {n_rows}")))?;
            *slot = Some(ReadAnswer { result_code: h.result_code, generation: h.generation, void_time: h.record_ttl, bins });
        }
    }
}

/// The JSON of a GeoJSON particle: written as `00 0000 json`, read back with the server's
/// cells between header and text.
fn geo_text(v: &[u8]) -> &[u8] {
    if v.len() < 3 {
        return v;
    }
    let start = 3 + 8 * u16::from_be_bytes([v[1], v[2]]) as usize;
    v.get(start..).unwrap_or(v)
}

/// How the cluster's bins differ from the backup's, in words (None: the same). With
/// `only_listed` (a `--bin-list`), bins the backup does not name are not compared.
pub fn compare(expected_row: &[u8], got: &[BinValue], only_listed: bool) -> WireResult<Option<String>> {
    let (_, want) = row_parts(expected_row)?;
    let mut problems = Vec::new();
    for (name, ptype, value) in &want {
        let shown = String::from_utf8_lossy(name);
        match got.iter().find(|b| b.name == *name) {
            None => problems.push(format!("bin '{shown}' missing")),
            Some(b) if b.particle_type != *ptype => problems.push(format!("bin '{shown}' is of particle type {} on the cluster, {ptype} in the backup", b.particle_type)),
            Some(b) => {
                let same = if *ptype == 23 { geo_text(&b.value) == geo_text(value) } else { b.value == *value };
                if !same {
                    problems.push(format!("bin '{shown}' differs"));
                }
            }
        }
    }
    if !only_listed {
        for b in got {
            if !want.iter().any(|(name, _, _)| *name == b.name.as_slice()) {
                problems.push(format!("bin '{}' is not in the backup", String::from_utf8_lossy(&b.name)));
            }
        }
    }
    Ok((!problems.is_empty()).then(|| problems.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{encode_row, WritePolicy};
    use asb_core::{BlobType, Record, Value};

    fn row() -> Vec<u8> {
        let mut r = Record::new();
        r.set_namespace(b"bar");
        r.set_set(Some(b"s"));
        r.digest = [5; 20];
        r.push_bin(b"l", Value::Blob { blob_type: BlobType::List, bytes: &[0x92, 1, 2], compact: false });
        r.push_bin(b"g", Value::GeoJson(b"{\"type\":\"Point\"}"));
        r.push_bin(b"i", Value::Int(3));
        let mut out = Vec::new();
        encode_row(&mut out, &mut Vec::new(), &r, None, 0, &WritePolicy::default());
        out
    }

    fn bin(name: &str, ptype: u8, value: &[u8]) -> BinValue {
        BinValue { name: name.as_bytes().to_vec(), particle_type: ptype, value: value.to_vec() }
    }

    #[test]
    fn equal_bins_compare_equal_geojson_cells_aside() {
        let mut geo = vec![0, 0, 1];
        geo.extend_from_slice(&[9; 8]);
        geo.extend_from_slice(b"{\"type\":\"Point\"}");
        let got = [bin("i", 1, &3i64.to_be_bytes()), bin("l", 20, &[0x92, 1, 2]), bin("g", 23, &geo)];
        assert_eq!(compare(&row(), &got, false).unwrap(), None);
    }

    #[test]
    fn differences_are_named_by_bin() {
        let got = [bin("i", 1, &4i64.to_be_bytes()), bin("l", 4, &[0x92, 1, 2]), bin("x", 3, b"new")];
        let said = compare(&row(), &got, false).unwrap().unwrap();
        assert_eq!(said, "bin 'l' is of particle type 4 on the cluster, 20 in the backup, bin 'g' missing, bin 'i' differs, bin 'x' is not in the backup");
        let said = compare(&row(), &got, true).unwrap().unwrap();
        assert!(!said.contains("'x'"), "a --bin-list leaves other bins alone");
    }

    #[test]
    fn a_read_message_asks_for_every_bin_of_each_digest() {
        let r = row();
        let msg = read_message([r.as_slice(), r.as_slice()].into_iter(), 100).unwrap();
        let h = MsgHeader::parse(&msg[8..]).unwrap();
        assert_eq!((h.info1, h.n_fields, h.transaction_ttl), (INFO1_BATCH, 1, 100));
        let mut pos = 8 + MSG_HEADER_LEN;
        let f = read_field(&msg, &mut pos).unwrap();
        let d = f.data;
        assert_eq!(&d[..5], &[0, 0, 0, 2, BATCH_PARENT_FLAGS]);
        assert_eq!(&d[5..9], &[0, 0, 0, 0]);
        assert_eq!(&d[9..29], &[5; 20]);
        assert_eq!(&d[29..35], &[0, INFO1_READ | INFO1_GET_ALL, 0, 1, 0, 0]);
        assert_eq!(&d[35..43], &[0, 0, 0, 4, FIELD_NAMESPACE, b'b', b'a', b'r']);
        assert_eq!(&d[43..47], &[0, 0, 0, 1], "the second row's index");
    }
}

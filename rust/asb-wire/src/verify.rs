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
    let (namespace, n_ops, mut pos) = row_namespace(row)?;
    let mut bins = Vec::with_capacity(n_ops as usize);
    for _ in 0..n_ops {
        let op = read_op(row, &mut pos)?;
        bins.push((op.name, op.particle_type, op.value));
    }
    Ok((namespace, bins))
}

/// A write row's namespace, its op count and where its ops start (the ops unread).
fn row_namespace(row: &[u8]) -> WireResult<(&[u8], u16, usize)> {
    let mut pos = 20 + WRITE_ROW_ATTRS;
    let counts = row
        .get(pos..pos + 4)
        .ok_or_else(|| WireError::protocol("a malformed batch row"))?;
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
    Ok((namespace, n_ops, pos))
}

/// A batch read of every bin of the rows' records, in the rows' order.
pub fn read_message<'a>(
    rows: impl ExactSizeIterator<Item = &'a [u8]>,
    timeout_ms: u32,
) -> WireResult<Vec<u8>> {
    let n = rows.len() as u32;
    let mut data = Vec::with_capacity(5 + rows.len() * 40);
    data.extend_from_slice(&n.to_be_bytes());
    data.push(BATCH_PARENT_FLAGS);
    for (i, row) in rows.enumerate() {
        let (namespace, _, _) = row_namespace(row)?;
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
    let mut m = MsgBuilder::new(MsgHeader {
        info1: INFO1_BATCH,
        transaction_ttl: timeout_ms,
        ..MsgHeader::default()
    });
    m.field(FIELD_BATCH, &data);
    Ok(m.finish())
}

/// Sends a batch read and collects every row's answer by row index.
pub fn read_batch(
    conn: &mut Connection,
    msg: &[u8],
    n_rows: usize,
) -> WireResult<Vec<Option<ReadAnswer>>> {
    crate::write::batch_answers(conn, msg, n_rows, |h, ops| ReadAnswer {
        result_code: h.result_code,
        generation: h.generation,
        void_time: h.record_ttl,
        bins: ops
            .iter()
            .map(|op| BinValue {
                name: op.name.to_vec(),
                particle_type: op.particle_type,
                value: op.value.to_vec(),
            })
            .collect(),
    })
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

/// A list or map with every unordered map's entries sorted: the server keeps an unordered
/// map in an order of its own choosing, so two maps are the same when their entries are.
/// Key-ordered maps and lists keep their order. None: not msgpack.
fn canonical(v: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(v.len());
    let mut pos = 0;
    canonical_item(v, &mut pos, &mut out, 0)?;
    (pos == v.len()).then_some(out)
}

/// (header length, item count for arrays/maps or payload length, kind): 0 scalar with
/// payload, 1 array, 2 map.
fn msgpack_head(b: &[u8], pos: usize) -> Option<(usize, usize, u8)> {
    let t = *b.get(pos)?;
    let be = |n: usize| -> Option<usize> {
        Some(
            b.get(pos + 1..pos + 1 + n)?
                .iter()
                .fold(0usize, |a, &x| a << 8 | x as usize),
        )
    };
    Some(match t {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (1, 0, 0),
        0x80..=0x8f => (1, (t & 0x0f) as usize, 2),
        0x90..=0x9f => (1, (t & 0x0f) as usize, 1),
        0xa0..=0xbf => (1, (t & 0x1f) as usize, 0),
        0xc4 | 0xd9 => (2, be(1)?, 0),
        0xc5 | 0xda => (3, be(2)?, 0),
        0xc6 | 0xdb => (5, be(4)?, 0),
        0xc7 => (3, be(1)?, 0),
        0xc8 => (4, be(2)?, 0),
        0xc9 => (6, be(4)?, 0),
        0xca => (1, 4, 0),
        0xcb => (1, 8, 0),
        0xcc | 0xd0 => (1, 1, 0),
        0xcd | 0xd1 => (1, 2, 0),
        0xce | 0xd2 => (1, 4, 0),
        0xcf | 0xd3 => (1, 8, 0),
        0xd4 => (2, 1, 0),
        0xd5 => (2, 2, 0),
        0xd6 => (2, 4, 0),
        0xd7 => (2, 8, 0),
        0xd8 => (2, 16, 0),
        0xdc => (3, be(2)?, 1),
        0xdd => (5, be(4)?, 1),
        0xde => (3, be(2)?, 2),
        0xdf => (5, be(4)?, 2),
        _ => return None,
    })
}

/// An integer item's value (None: not an integer).
fn msgpack_int(b: &[u8], pos: usize, head: usize, n: usize) -> Option<i128> {
    let t = b[pos];
    let payload = b.get(pos + head..pos + head + n)?;
    let unsigned = payload.iter().fold(0u64, |a, &x| a << 8 | x as u64);
    Some(match t {
        0x00..=0x7f => t as i128,
        0xe0..=0xff => (t as i8) as i128,
        0xcc..=0xcf => unsigned as i128,
        // Sign-extend from the payload's width.
        0xd0..=0xd3 => ((unsigned << (64 - 8 * n)) as i64 >> (64 - 8 * n)) as i128,
        _ => return None,
    })
}

/// The shortest encoding of an integer, as the server writes one.
fn push_int(out: &mut Vec<u8>, v: i128) {
    match v {
        0..=0x7f => out.push(v as u8),
        -32..=-1 => out.push(v as i8 as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, v as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&(v as u64).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, v as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(v as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(v as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&(v as i64).to_be_bytes());
        }
    }
}

/// The shortest header of a string (`str`), blob (`bin`), array or map of `n`.
fn push_head(out: &mut Vec<u8>, family: u8, n: usize) {
    let (fix, max_fix, c8, c16, c32) = match family {
        b's' => (0xa0u8, 31usize, Some(0xd9u8), 0xdau8, 0xdbu8),
        b'b' => (0, 0, Some(0xc4), 0xc5, 0xc6),
        b'a' => (0x90, 15, None, 0xdc, 0xdd),
        _ => (0x80, 15, None, 0xde, 0xdf),
    };
    if fix != 0 && n <= max_fix {
        out.push(fix | n as u8);
    } else if let (Some(c8), true) = (c8, n <= 0xff) {
        out.extend_from_slice(&[c8, n as u8]);
    } else if n <= 0xffff {
        out.push(c16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn canonical_item(b: &[u8], pos: &mut usize, out: &mut Vec<u8>, depth: usize) -> Option<()> {
    if depth > 64 {
        return None;
    }
    let t = *b.get(*pos)?;
    let (head, n, kind) = msgpack_head(b, *pos)?;
    let family = match t {
        0xa0..=0xbf | 0xd9..=0xdb => Some(b's'),
        0xc4..=0xc6 => Some(b'b'),
        _ => None,
    };
    if let Some(v) = msgpack_int(b, *pos, head, n) {
        push_int(out, v);
        *pos += head + n;
        return Some(());
    }
    match kind {
        0 => {
            match family {
                Some(f) => push_head(out, f, n),
                None => out.extend_from_slice(b.get(*pos..*pos + head)?),
            }
            *pos += head;
            out.extend_from_slice(b.get(*pos..*pos + n)?);
            *pos += n;
        }
        1 => {
            push_head(out, b'a', n);
            *pos += head;
            for _ in 0..n {
                canonical_item(b, pos, out, depth + 1)?;
            }
        }
        _ => {
            push_head(out, b'm', n);
            *pos += head;
            // A length is only a claim: never reserve more than the bytes could hold.
            let mut entries = Vec::with_capacity(n.min(b.len() - *pos));
            for _ in 0..n {
                let mut entry = Vec::new();
                canonical_item(b, pos, &mut entry, depth + 1)?;
                let key_len = entry.len();
                canonical_item(b, pos, &mut entry, depth + 1)?;
                entries.push((key_len, entry));
            }
            // The flags entry (an ext key) comes first; with a key-ordered flag, order counts.
            let ordered = entries
                .first()
                .is_some_and(|(_, e)| e.len() >= 3 && e[0] == 0xc7 && e[1] == 0 && e[2] & 1 == 1);
            if !ordered {
                entries.sort_by(|a, b| a.1[..a.0].cmp(&b.1[..b.0]));
            }
            for (_, e) in entries {
                out.extend_from_slice(&e);
            }
        }
    }
    Some(())
}

/// Whether two particles of the same type hold the same value.
pub fn same_value(ptype: u8, a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match ptype {
        23 => geo_text(a) == geo_text(b),
        19 | 20 => matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y),
        _ => false,
    }
}

/// How the cluster's bins differ from the backup's, in words (None: the same). With
/// `only_listed` (a `--bin-list`), bins the backup does not name are not compared.
pub fn compare(
    expected_row: &[u8],
    got: &[BinValue],
    only_listed: bool,
) -> WireResult<Option<String>> {
    let (_, want) = row_parts(expected_row)?;
    let mut problems = Vec::new();
    for (name, ptype, value) in &want {
        let shown = String::from_utf8_lossy(name);
        match got.iter().find(|b| b.name == *name) {
            None => problems.push(format!("bin '{shown}' missing")),
            Some(b) if b.particle_type != *ptype => problems.push(format!(
                "bin '{shown}' is of particle type {} on the cluster, {ptype} in the backup",
                b.particle_type
            )),
            Some(b) => {
                if !same_value(*ptype, &b.value, value) {
                    problems.push(format!("bin '{shown}' differs"));
                }
            }
        }
    }
    if !only_listed {
        for b in got {
            if !want.iter().any(|(name, _, _)| *name == b.name.as_slice()) {
                problems.push(format!(
                    "bin '{}' is not in the backup",
                    String::from_utf8_lossy(&b.name)
                ));
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
        r.push_bin(
            b"l",
            Value::Blob {
                blob_type: BlobType::List,
                bytes: &[0x92, 1, 2],
                compact: false,
            },
        );
        r.push_bin(b"g", Value::GeoJson(b"{\"type\":\"Point\"}"));
        r.push_bin(b"i", Value::Int(3));
        let mut out = Vec::new();
        encode_row(
            &mut out,
            &mut Vec::new(),
            &r,
            None,
            0,
            &WritePolicy::default(),
        );
        out
    }

    fn bin(name: &str, ptype: u8, value: &[u8]) -> BinValue {
        BinValue {
            name: name.as_bytes().to_vec(),
            particle_type: ptype,
            value: value.to_vec(),
        }
    }

    #[test]
    fn equal_bins_compare_equal_geojson_cells_aside() {
        let mut geo = vec![0, 0, 1];
        geo.extend_from_slice(&[9; 8]);
        geo.extend_from_slice(b"{\"type\":\"Point\"}");
        let got = [
            bin("i", 1, &3i64.to_be_bytes()),
            bin("l", 20, &[0x92, 1, 2]),
            bin("g", 23, &geo),
        ];
        assert_eq!(compare(&row(), &got, false).unwrap(), None);
    }

    #[test]
    fn differences_are_named_by_bin() {
        let got = [
            bin("i", 1, &4i64.to_be_bytes()),
            bin("l", 4, &[0x92, 1, 2]),
            bin("x", 3, b"new"),
        ];
        let said = compare(&row(), &got, false).unwrap().unwrap();
        assert_eq!(said, "bin 'l' is of particle type 4 on the cluster, 20 in the backup, bin 'g' missing, bin 'i' differs, bin 'x' is not in the backup");
        let said = compare(&row(), &got, true).unwrap().unwrap();
        assert!(
            !said.contains("'x'"),
            "a --bin-list leaves other bins alone"
        );
    }

    #[test]
    fn unordered_maps_compare_by_entries_ordered_ones_and_lists_by_order() {
        let views_clicks = b"\x82\xa6\x03views\xcd\xe6k\xa7\x03clicks\xcd\x08\x82";
        let clicks_views = b"\x82\xa7\x03clicks\xcd\x08\x82\xa6\x03views\xcd\xe6k";
        assert!(
            same_value(19, views_clicks, clicks_views),
            "the server's own order of an unordered map"
        );
        assert!(!same_value(
            19,
            views_clicks,
            b"\x82\xa7\x03clicks\xcd\x08\x83\xa6\x03views\xcd\xe6k"
        ));
        // Nested in a list, too.
        let mut l1 = vec![0x92, 0x01];
        l1.extend_from_slice(views_clicks);
        let mut l2 = vec![0x92, 0x01];
        l2.extend_from_slice(clicks_views);
        assert!(same_value(20, &l1, &l2));
        assert!(
            !same_value(20, &[0x92, 1, 2], &[0x92, 2, 1]),
            "lists keep their order"
        );
        // A key-ordered map (flags ext 1 first) in another order is another value.
        let k1 = [0x83, 0xc7, 0, 1, 0xc0, 0xa2, 3, b'a', 1, 0xa2, 3, b'z', 2];
        let k2 = [0x83, 0xc7, 0, 1, 0xc0, 0xa2, 3, b'z', 2, 0xa2, 3, b'a', 1];
        assert!(!same_value(19, &k1, &k2));
        assert!(
            !same_value(19, &[0x82, 0xc1, 1], &[0x82, 1, 0xc1]),
            "not msgpack: bytes differ"
        );
        // Integers and headers in longer forms than needed, as the server shortens them.
        let long = b"\x82\xa6\x03views\xcd\x00}\xa7\x03clicks\xcd\xe2\xb7";
        let short = b"\x82\xa7\x03clicks\xcd\xe2\xb7\xa6\x03views}";
        assert!(same_value(19, long, short));
        assert!(
            same_value(20, &[0x91, 0xd0, 0xff], &[0x91, 0xff]),
            "-1 as int8 and as fixint"
        );
        assert!(
            same_value(20, &[0xdc, 0, 1, 0xd9, 1, b'x'], &[0x91, 0xa1, b'x']),
            "array16 and str8 headers"
        );
        assert!(!same_value(20, &[0x91, 0xd0, 0xfe], &[0x91, 0xff]));
    }

    #[test]
    fn a_read_message_asks_for_every_bin_of_each_digest() {
        let r = row();
        let msg = read_message([r.as_slice(), r.as_slice()].into_iter(), 100).unwrap();
        let h = MsgHeader::parse(&msg[8..]).unwrap();
        assert_eq!(
            (h.info1, h.n_fields, h.transaction_ttl),
            (INFO1_BATCH, 1, 100)
        );
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

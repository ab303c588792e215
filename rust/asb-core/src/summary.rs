//! What is inside a backup: counts for `validate`, the full picture for `inspect`.

use std::collections::HashMap;
use std::io::Read;

use crate::deep::DeepCheck;
use crate::error::Result;
use crate::model::{Key, SecondaryIndex, Version};
use crate::read::{Entity, Reader};

/// Bin type letters in the order their counts are kept (`X` strings count as `S`).
pub const BIN_LETTERS: &[u8; 16] = b"NZIDSGBJCPRHEYML";
/// Void times count seconds from 2010-01-01T00:00:00Z, Unix time 1262304000.
pub const CITRUSLEAF_EPOCH: u64 = 1_262_304_000;
/// Key type letters in the order their counts are kept.
pub const KEY_LETTERS: &[u8; 4] = b"IDSB";

#[inline]
fn bin_slot(letter: u8) -> usize {
    BIN_LETTERS.iter().position(|&l| l == letter).expect("known bin letter")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetStats {
    pub records: u64,
    pub bytes: u64,
    pub with_key: u64,
}

#[derive(Clone, Debug)]
pub struct FileSummary {
    pub path: String,
    pub version: Version,
    pub namespace: Option<Vec<u8>>,
    pub first_file: bool,
    pub records: u64,
    pub sindexes: u64,
    pub udfs: u64,
    pub text_bytes: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Range64 {
    pub min: u64,
    pub max: u64,
    pub count: u64,
}

impl Range64 {
    #[inline]
    fn add(&mut self, v: u64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
    }
}

/// Counts over every file scanned; `detail` adds per-set, per-bin and range statistics.
#[derive(Debug, Default)]
pub struct Summary {
    pub detail: bool,
    pub files: Vec<FileSummary>,
    pub records: u64,
    pub text_bytes: u64,
    pub sindexes: Vec<SecondaryIndex>,
    /// UDF file name and content size.
    pub udfs: Vec<(Vec<u8>, u64)>,
    pub sets: Vec<(Option<Vec<u8>>, SetStats)>,
    pub record_namespaces: Vec<(Vec<u8>, u64)>,
    pub key_types: [u64; 4],
    pub bins: HashMap<Vec<u8>, [u64; 16]>,
    pub never_expire: u64,
    /// Void time of "now": expiring records before it are already expired.
    pub now_void_time: u32,
    /// Records whose void time is before `now_void_time` (a restore skips them).
    pub expired: u64,
    /// Void times of expiring records.
    pub void_time: Range64,
    pub record_size: Range64,
    pub generation: Range64,
}

impl Summary {
    pub fn new(detail: bool) -> Summary {
        let since_2010 = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().saturating_sub(CITRUSLEAF_EPOCH));
        Summary {
            detail,
            now_void_time: since_2010.min(u32::MAX as u64) as u32,
            ..Summary::default()
        }
    }

    /// Reads `reader` to its end; `tick` is called now and then with the records so far.
    pub fn scan<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        mut deep: Option<&mut DeepCheck>,
        mut tick: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        let header = reader.header().clone();
        if let Some(d) = deep.as_deref_mut() {
            d.start_file(reader.path().unwrap_or(""), header.namespace());
        }
        let mut file = FileSummary {
            path: reader.path().unwrap_or("").to_string(),
            version: header.version,
            namespace: header.namespace().map(<[u8]>::to_vec),
            first_file: header.first_file(),
            records: 0,
            sindexes: 0,
            udfs: 0,
            text_bytes: 0,
        };
        let mut set_slot = usize::MAX;
        let mut ns_slot = usize::MAX;
        loop {
            let start = reader.offset();
            let entity = reader.next_entity();
            let entity = match entity {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    file.text_bytes = reader.offset();
                    self.files.push(file);
                    return Err(e);
                }
            };
            match entity {
                Entity::Record(_) => {
                    file.records += 1;
                    if self.detail {
                        let size = reader.last_entity_len();
                        self.add_record_detail(reader.record(), size, &mut set_slot, &mut ns_slot);
                    }
                    if let Some(d) = deep.as_deref_mut() {
                        d.record(reader.record(), reader.path().unwrap_or(""), || reader.position_of(start))?;
                    }
                    if file.records.is_multiple_of(65536) {
                        tick(self.records + file.records)?;
                    }
                }
                Entity::SecondaryIndex(s) => {
                    file.sindexes += 1;
                    self.sindexes.push(s);
                }
                Entity::Udf(u) => {
                    file.udfs += 1;
                    self.udfs.push((u.name, u.content.len() as u64));
                }
            }
        }
        file.text_bytes = reader.offset();
        self.records += file.records;
        self.text_bytes += file.text_bytes;
        self.files.push(file);
        tick(self.records)
    }

    fn add_record_detail(
        &mut self,
        rec: &crate::model::Record,
        size: u64,
        set_slot: &mut usize,
        ns_slot: &mut usize,
    ) {
        let set = rec.set();
        if self.sets.get(*set_slot).is_none_or(|(s, _)| s.as_deref() != set) {
            *set_slot = match self.sets.iter().position(|(s, _)| s.as_deref() == set) {
                Some(i) => i,
                None => {
                    self.sets.push((set.map(<[u8]>::to_vec), SetStats::default()));
                    self.sets.len() - 1
                }
            };
        }
        let stats = &mut self.sets[*set_slot].1;
        stats.records += 1;
        stats.bytes += size;
        let ns = rec.namespace();
        if self.record_namespaces.get(*ns_slot).is_none_or(|(n, _)| n.as_slice() != ns) {
            *ns_slot = match self.record_namespaces.iter().position(|(n, _)| n.as_slice() == ns) {
                Some(i) => i,
                None => {
                    self.record_namespaces.push((ns.to_vec(), 0));
                    self.record_namespaces.len() - 1
                }
            };
        }
        self.record_namespaces[*ns_slot].1 += 1;
        if let Some(key) = rec.key() {
            stats.with_key += 1;
            self.key_types[match key {
                Key::Int(_) => 0,
                Key::Double(_) => 1,
                Key::Str(_) => 2,
                Key::Bytes { .. } => 3,
            }] += 1;
        }
        for (name, value) in rec.bins() {
            let slot = bin_slot(value.letter());
            match self.bins.get_mut(name) {
                Some(counts) => counts[slot] += 1,
                None => {
                    let mut counts = [0u64; 16];
                    counts[slot] = 1;
                    self.bins.insert(name.to_vec(), counts);
                }
            }
        }
        if rec.void_time == 0 {
            self.never_expire += 1;
        } else {
            self.void_time.add(rec.void_time as u64);
            self.expired += u64::from(rec.void_time < self.now_void_time);
        }
        self.record_size.add(size);
        self.generation.add(rec.generation as u64);
    }
}

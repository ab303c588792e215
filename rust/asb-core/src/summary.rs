//! What is inside a backup: counts for `validate`, the full picture for `inspect`.

use std::collections::HashMap;
use std::io::Read;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::deep::{DeepCheck, DeepPiece};
use crate::error::{Error, Result};
use crate::layers::Layers;
use crate::model::{Key, SecondaryIndex, Version};
use crate::parallel::{self, Done, PlannedFile};
use crate::read::{Entity, Reader};
use crate::source::BoxedReader;

/// Bin type letters in the order their counts are kept (`X` strings count as `S`).
pub const BIN_LETTERS: &[u8; 16] = b"NZIDSGBJCPRHEYML";
/// Void times count seconds from 2010-01-01T00:00:00Z, Unix time 1262304000.
pub const CITRUSLEAF_EPOCH: u64 = 1_262_304_000;
/// Key type letters in the order their counts are kept.
pub const KEY_LETTERS: &[u8; 4] = b"IDSB";

#[inline]
fn bin_slot(letter: u8) -> usize {
    BIN_LETTERS
        .iter()
        .position(|&l| l == letter)
        .expect("known bin letter")
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetStats {
    pub records: u64,
    pub bytes: u64,
    pub with_key: u64,
}

#[derive(Clone, Debug, Default)]
pub struct FileSummary {
    pub path: String,
    pub version: Version,
    pub namespace: Option<Vec<u8>>,
    pub first_file: bool,
    pub records: u64,
    pub sindexes: u64,
    pub udfs: u64,
    pub text_bytes: u64,
    /// Digests of the file's first and last record (a manifest names them).
    pub first_digest: Option<[u8; 20]>,
    pub last_digest: Option<[u8; 20]>,
}

impl FileSummary {
    /// An empty summary of the file `reader` reads (from its header).
    fn of<R: Read>(reader: &Reader<R>) -> FileSummary {
        let header = reader.header();
        FileSummary {
            path: reader.path().unwrap_or("").to_string(),
            version: header.version,
            namespace: header.namespace().map(<[u8]>::to_vec),
            first_file: header.first_file(),
            records: 0,
            sindexes: 0,
            udfs: 0,
            text_bytes: 0,
            first_digest: None,
            last_digest: None,
        }
    }

    fn saw_record(&mut self, digest: [u8; 20]) {
        self.records += 1;
        self.first_digest.get_or_insert(digest);
        self.last_digest = Some(digest);
    }
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

    fn merge(&mut self, o: &Range64) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = o.clone();
            return;
        }
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.count += o.count;
    }
}

/// Bytes a value takes: its length for strings and blobs, 8 for numbers, 1 for booleans.
fn value_size(v: &crate::model::Value<'_>) -> u64 {
    use crate::model::Value;
    match v {
        Value::Nil => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Double(_) => 8,
        Value::Str(s) | Value::GeoJson(s) => s.len() as u64,
        Value::Blob { bytes, .. } => bytes.len() as u64,
    }
}

/// Year, month and day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Months since 2010-01 of a void time.
pub fn month_of(void_time: u32) -> u32 {
    let (year, month, _) = civil_from_days(((CITRUSLEAF_EPOCH + void_time as u64) / 86400) as i64);
    ((year - 2010) * 12 + month as i64 - 1) as u32
}

/// `YYYY-MM` of a month counted by [`month_of`].
pub fn month_label(month: u32) -> String {
    format!("{:04}-{:02}", 2010 + month / 12, month % 12 + 1)
}

/// Histogram buckets of value sizes: exact below 16, then 4 per power of two.
const SIZE_BUCKETS: usize = 16 + 4 * 60;

fn size_bucket(size: u64) -> usize {
    if size < 16 {
        return size as usize;
    }
    let power = 63 - size.leading_zeros() as usize; // >= 4
    let quarter = ((size >> (power - 2)) & 3) as usize;
    16 + (power - 4) * 4 + quarter
}

/// Smallest size that falls into `bucket`.
fn bucket_floor(bucket: usize) -> u64 {
    if bucket < 16 {
        return bucket as u64;
    }
    let (power, quarter) = ((bucket - 16) / 4 + 4, (bucket - 16) % 4);
    (1u64 << power) + (quarter as u64) * (1u64 << (power - 2))
}

/// Per bin name: how often each type occurs and how large the values are.
#[derive(Clone, Debug)]
pub struct BinStats {
    pub counts: [u64; 16],
    pub min_size: u64,
    pub max_size: u64,
    sizes: Box<[u64; SIZE_BUCKETS]>,
}

impl Default for BinStats {
    fn default() -> BinStats {
        BinStats {
            counts: [0; 16],
            min_size: u64::MAX,
            max_size: 0,
            sizes: Box::new([0; SIZE_BUCKETS]),
        }
    }
}

impl BinStats {
    #[inline]
    fn add(&mut self, slot: usize, size: u64) {
        self.counts[slot] += 1;
        self.min_size = self.min_size.min(size);
        self.max_size = self.max_size.max(size);
        self.sizes[size_bucket(size)] += 1;
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn merge(&mut self, o: &BinStats) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a += b;
        }
        for (a, b) in self.sizes.iter_mut().zip(o.sizes.iter()) {
            *a += b;
        }
        self.min_size = self.min_size.min(o.min_size);
        self.max_size = self.max_size.max(o.max_size);
    }

    /// Median value size, exact below 16 bytes, else within a quarter power of two.
    pub fn median_size(&self) -> u64 {
        let half = self.count().div_ceil(2);
        let mut seen = 0;
        for (bucket, &n) in self.sizes.iter().enumerate() {
            seen += n;
            if seen >= half && n > 0 {
                return bucket_floor(bucket).clamp(self.min_size, self.max_size);
            }
        }
        0
    }
}

/// Why a read ended early.
enum Stop {
    Error(Error),
    /// A syntax error taken as a finding: the file ends there, the run goes on.
    Finding,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Error(e)
    }
}

/// The deep checks a read makes: on a whole file, in order, or on a piece (kept for later).
enum Checks<'a> {
    Whole(Option<&'a mut DeepCheck>),
    Piece(Option<&'a mut DeepPiece>),
}

/// What a worker made of one piece.
#[derive(Default)]
struct ReadPiece {
    summary: Summary,
    file: FileSummary,
    deep: Option<DeepPiece>,
}

/// Checks a piece again record by record (its records' namespaces need reporting one by one).
fn recheck_piece(
    file: &PlannedFile,
    start: u64,
    len: u64,
    layers: &Layers,
    deep: &mut DeepCheck,
    lines_before: u64,
) -> Result<()> {
    let mut reader = parallel::open_piece(file, start, layers, &Arc::new(AtomicU64::new(0)))?;
    let path = reader.path().unwrap_or("").to_string();
    while reader.offset() < start + len {
        let at = reader.offset();
        match reader.next_entity()? {
            None => break,
            Some(Entity::Record(_)) => {}
            Some(_) => continue,
        }
        let at = || reader.position_of(at).lines_later(lines_before);
        deep.record(reader.record(), &path, at)?;
    }
    Ok(())
}

/// Counts over every file read; `detail` adds per-set, per-bin and range statistics.
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
    pub bins: HashMap<Vec<u8>, BinStats>,
    /// Expiring records per month of their void time (months since 2010-01).
    pub expiry_months: std::collections::BTreeMap<u32, u64>,
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
    /// Adds what another summary (of other files, read in parallel) counted.
    pub fn merge(&mut self, o: Summary) {
        self.files.extend(o.files);
        self.records += o.records;
        self.text_bytes += o.text_bytes;
        self.sindexes.extend(o.sindexes);
        self.udfs.extend(o.udfs);
        for (name, st) in o.sets {
            match self.sets.iter_mut().find(|(n, _)| *n == name) {
                Some((_, mine)) => {
                    mine.records += st.records;
                    mine.bytes += st.bytes;
                    mine.with_key += st.with_key;
                }
                None => self.sets.push((name, st)),
            }
        }
        for (ns, n) in o.record_namespaces {
            match self.record_namespaces.iter_mut().find(|(x, _)| *x == ns) {
                Some((_, mine)) => *mine += n,
                None => self.record_namespaces.push((ns, n)),
            }
        }
        for (a, b) in self.key_types.iter_mut().zip(o.key_types) {
            *a += b;
        }
        for (name, st) in o.bins {
            match self.bins.get_mut(&name) {
                Some(mine) => mine.merge(&st),
                None => {
                    self.bins.insert(name, st);
                }
            }
        }
        for (m, n) in o.expiry_months {
            *self.expiry_months.entry(m).or_default() += n;
        }
        self.never_expire += o.never_expire;
        self.expired += o.expired;
        self.void_time.merge(&o.void_time);
        self.record_size.merge(&o.record_size);
        self.generation.merge(&o.generation);
    }

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
    pub fn read<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        mut deep: Option<&mut DeepCheck>,
        mut tick: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        if let Some(d) = deep.as_deref_mut() {
            d.start_file(reader.path().unwrap_or(""), reader.header().namespace());
        }
        let mut file = FileSummary::of(reader);
        let read = self.read_entities(reader, u64::MAX, &mut file, Checks::Whole(deep), &mut tick);
        file.text_bytes = reader.offset();
        self.records += file.records;
        self.text_bytes += file.text_bytes;
        self.files.push(file);
        match read {
            // Taken as a finding (deep checks going on after errors): the run goes on.
            Ok(()) | Err(Stop::Finding) => tick(self.records),
            Err(Stop::Error(e)) => Err(e),
        }
    }

    /// Reads entities into `file` (and the detail statistics) until the next one starts at
    /// or after `stop` (a piece's end), or the stream ends.
    fn read_entities<R: Read>(
        &mut self,
        reader: &mut Reader<R>,
        stop: u64,
        file: &mut FileSummary,
        mut checks: Checks<'_>,
        tick: &mut impl FnMut(u64) -> Result<()>,
    ) -> Result<(), Stop> {
        let mut set_slot = usize::MAX;
        let mut ns_slot = usize::MAX;
        while reader.offset() < stop {
            let start = reader.offset();
            let entity = match reader.next_entity() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    // With deep checks that go on after errors, a syntax error is a finding.
                    let taken = match (&e.kind, &mut checks) {
                        (crate::error::ErrorKind::Parse, Checks::Whole(Some(d))) => {
                            d.parse_error(&e)
                        }
                        _ => None,
                    };
                    let error_at = e.position.map_or(0, |p| p.offset);
                    if taken == Some(true) && reader.resync(error_at)? {
                        continue;
                    }
                    return Err(if taken.is_some() {
                        Stop::Finding
                    } else {
                        Stop::Error(e)
                    });
                }
            };
            match entity {
                Entity::Record(r) => {
                    file.saw_record(r.digest);
                    if self.detail {
                        let size = reader.last_entity_len();
                        self.add_record_detail(reader.record(), size, &mut set_slot, &mut ns_slot);
                    }
                    let at = || reader.position_of(start);
                    match &mut checks {
                        Checks::Whole(Some(d)) => {
                            d.record(reader.record(), reader.path().unwrap_or(""), at)?
                        }
                        Checks::Piece(Some(p)) => p.record(reader.record(), at),
                        _ => {}
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
        Ok(())
    }

    /// Reads the files at `paths` with the result of [`Summary::read`] on each in turn: on
    /// `threads` threads, big plain files in pieces of about `piece_size` cut at proven
    /// record boundaries; one file at a time when deep checks go on after errors (they
    /// resynchronise on the text). Stops at the first error otherwise.
    #[allow(clippy::too_many_arguments)]
    pub fn read_paths(
        &mut self,
        paths: &[std::path::PathBuf],
        layers: &Layers,
        threads: usize,
        piece_size: u64,
        raw_count: &Arc<AtomicU64>,
        deep: Option<&mut DeepCheck>,
        mut tick: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        if deep.as_ref().is_some_and(|d| d.continue_after_errors) {
            let mut deep = deep;
            for path in paths {
                let mut reader = crate::source::open_path(path, layers, raw_count.clone())?;
                self.read(&mut reader, deep.as_deref_mut(), &mut tick)?;
            }
            return Ok(());
        }
        let planned = parallel::plan(paths, layers, piece_size)?;
        self.read_files(&planned, layers, threads, raw_count, deep, tick)
    }

    /// Scans files on `threads` threads, big plain ones in pieces (see [`crate::parallel`]),
    /// with the same result as [`Summary::read`] on each file in turn. Deep checks that go
    /// on after errors need [`Summary::read`].
    pub fn read_files(
        &mut self,
        files: &[PlannedFile],
        layers: &Layers,
        threads: usize,
        raw_count: &Arc<AtomicU64>,
        mut deep: Option<&mut DeepCheck>,
        mut tick: impl FnMut(u64) -> Result<()>,
    ) -> Result<()> {
        let detail = self.detail;
        let check_digests = deep.as_ref().map(|d| d.check_digests);
        let work = |reader: &mut BoxedReader<'static>, stop: u64, _first: bool| {
            let mut piece = ReadPiece {
                summary: Summary::new(detail),
                file: FileSummary::of(reader),
                deep: check_digests.map(DeepPiece::new),
            };
            let checks = Checks::Piece(piece.deep.as_mut());
            let read =
                piece
                    .summary
                    .read_entities(reader, stop, &mut piece.file, checks, &mut |_| Ok(()));
            (
                piece,
                read.map_err(|e| match e {
                    Stop::Error(e) => e,
                    Stop::Finding => unreachable!("pieces do not go on after errors"),
                }),
            )
        };
        let consume = |done: Done<ReadPiece>| -> Result<()> {
            let p = &done.value;
            let path = p.file.path.clone();
            if let Some(d) = deep.as_deref_mut() {
                if done.first_of_file {
                    d.start_file(&path, p.file.namespace.as_deref());
                }
            }
            let ReadPiece {
                summary,
                mut file,
                deep: piece_deep,
            } = done.value;
            if let (Some(d), Some(pd)) = (deep.as_deref_mut(), piece_deep) {
                let lines_before = done.lines_before;
                if !d.take_piece(pd, &path, |at| at.lines_later(lines_before))? {
                    recheck_piece(
                        &files[done.file],
                        done.start,
                        done.bytes,
                        layers,
                        d,
                        lines_before,
                    )?;
                }
            }
            file.text_bytes = done.bytes;
            self.records += file.records;
            self.text_bytes += file.text_bytes;
            if done.first_of_file {
                self.files.push(file);
            } else if let Some(mine) = self.files.last_mut() {
                mine.records += file.records;
                mine.sindexes += file.sindexes;
                mine.udfs += file.udfs;
                mine.text_bytes += file.text_bytes;
                mine.first_digest = mine.first_digest.or(file.first_digest);
                mine.last_digest = file.last_digest.or(mine.last_digest);
            }
            self.merge(summary);
            if let Some(e) = done.error {
                return Err(e);
            }
            tick(self.records)
        };
        parallel::run(files, layers, threads, raw_count, work, consume).map(|_| ())
    }

    fn add_record_detail(
        &mut self,
        rec: &crate::model::Record,
        size: u64,
        set_slot: &mut usize,
        ns_slot: &mut usize,
    ) {
        let set = rec.set();
        if self
            .sets
            .get(*set_slot)
            .is_none_or(|(s, _)| s.as_deref() != set)
        {
            *set_slot = match self.sets.iter().position(|(s, _)| s.as_deref() == set) {
                Some(i) => i,
                None => {
                    self.sets
                        .push((set.map(<[u8]>::to_vec), SetStats::default()));
                    self.sets.len() - 1
                }
            };
        }
        let stats = &mut self.sets[*set_slot].1;
        stats.records += 1;
        stats.bytes += size;
        let ns = rec.namespace();
        if self
            .record_namespaces
            .get(*ns_slot)
            .is_none_or(|(n, _)| n.as_slice() != ns)
        {
            *ns_slot = match self
                .record_namespaces
                .iter()
                .position(|(n, _)| n.as_slice() == ns)
            {
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
            let size = value_size(&value);
            match self.bins.get_mut(name) {
                Some(stats) => stats.add(slot, size),
                None => {
                    let mut stats = BinStats::default();
                    stats.add(slot, size);
                    self.bins.insert(name.to_vec(), stats);
                }
            }
        }
        if rec.void_time != 0 {
            *self
                .expiry_months
                .entry(month_of(rec.void_time))
                .or_default() += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_buckets_are_ordered_and_bounded() {
        let mut last = 0;
        for size in (0..5000u64).chain([1 << 20, (1 << 32) - 1, 1 << 40]) {
            let b = size_bucket(size);
            assert!(b >= last && b < SIZE_BUCKETS, "{size}");
            assert!(
                bucket_floor(b) <= size && size < 2 * bucket_floor(b).max(1) + 16,
                "{size}"
            );
            last = b;
        }
        let mut s = BinStats::default();
        for size in [1, 2, 3, 100, 200] {
            s.add(0, size);
        }
        assert_eq!((s.min_size, s.median_size(), s.max_size), (1, 3, 200));
    }

    #[test]
    fn months_count_from_2010() {
        assert_eq!(month_of(0), 0);
        assert_eq!(month_of(428179113), 13 * 12 + 6); // 2023-07
        assert_eq!(month_of(500000000), 15 * 12 + 10); // 2025-11
        assert_eq!(month_label(month_of(428179113)), "2023-07");
        assert_eq!(month_label(0), "2010-01");
    }
}

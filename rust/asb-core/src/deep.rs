//! `validate --deep`: what parsing alone cannot see. Recomputed digests, one namespace per
//! backup, and digests that occur twice (in bounded memory: entries are bucketed by
//! partition and buckets spill to temporary files past a limit).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

use crate::digest::{compute_digest, partition_id};
use crate::error::{Position, Result};
use crate::model::{Key, Record};

/// A finding, located at the start of the record it is about.
#[derive(Clone, Debug)]
pub struct Issue {
    /// `digest_mismatch`, `bytes_key_digest_mismatch`, `namespace_mismatch`, `duplicate_digest`.
    pub kind: &'static str,
    pub path: String,
    pub position: Option<Position>,
    pub message: String,
}

const BUCKETS: usize = 4096;
/// Digests kept in memory before buckets spill to disk (24 bytes each).
pub const DEFAULT_MEMORY_DIGESTS: usize = 4 << 20;

pub struct DeepCheck {
    /// Recompute digests from keys (off: only namespaces and duplicates are checked).
    pub check_digests: bool,
    /// Go on after syntax errors (as findings) until this many findings.
    pub continue_after_errors: bool,
    pub max_issues: usize,
    pub issues: Vec<Issue>,
    pub issue_counts: std::collections::BTreeMap<&'static str, u64>,
    pub keys_checked: u64,
    namespace: Option<Vec<u8>>,
    files: Vec<String>,
    /// Per partition: digest and the index of the file it came from.
    buckets: Vec<Vec<([u8; 20], u32)>>,
    in_memory: usize,
    memory_limit: usize,
    spill: Option<(tempfile_dir::Dir, Vec<Option<BufWriter<File>>>)>,
}

mod tempfile_dir {
    //! A private temporary directory removed when dropped.
    use std::path::PathBuf;

    pub struct Dir(pub PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            let base = std::env::temp_dir();
            for n in 0..1000u32 {
                let p = base.join(format!("asbkit-digests-{}-{n}", std::process::id()));
                if std::fs::create_dir(&p).is_ok() {
                    return Ok(Dir(p));
                }
            }
            Err(std::io::Error::other("cannot create a temporary directory"))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl DeepCheck {
    pub fn new(max_issues: usize, memory_limit: usize) -> DeepCheck {
        DeepCheck {
            check_digests: true,
            continue_after_errors: false,
            max_issues,
            issues: Vec::new(),
            issue_counts: Default::default(),
            keys_checked: 0,
            namespace: None,
            files: Vec::new(),
            buckets: vec![Vec::new(); BUCKETS],
            in_memory: 0,
            memory_limit: memory_limit.max(1),
            spill: None,
        }
    }

    fn report(
        &mut self,
        kind: &'static str,
        path: &str,
        position: Option<Position>,
        message: String,
    ) {
        *self.issue_counts.entry(kind).or_default() += 1;
        if self.issues.len() < self.max_issues {
            self.issues.push(Issue {
                kind,
                path: path.to_string(),
                position,
                message,
            });
        }
    }

    /// Takes a syntax error as a finding when going on after errors (`None` otherwise);
    /// `Some(true)` while fewer than `max_issues` findings were made.
    pub fn parse_error(&mut self, e: &crate::error::Error) -> Option<bool> {
        if !self.continue_after_errors {
            return None;
        }
        self.report(
            "parse_error",
            e.path.as_deref().unwrap_or(""),
            e.position,
            e.message.clone(),
        );
        Some((self.issue_total() as usize) < self.max_issues)
    }

    pub fn issue_total(&self) -> u64 {
        self.issue_counts.values().sum()
    }

    /// A new file begins; its header namespace must agree with the others.
    pub fn start_file(&mut self, path: &str, header_namespace: Option<&[u8]>) {
        self.files.push(path.to_string());
        if let Some(ns) = header_namespace {
            self.check_namespace(
                ns,
                path,
                Some(Position {
                    line: 2,
                    column: 1,
                    offset: 12,
                }),
                "header",
            );
        }
    }

    fn check_namespace(&mut self, ns: &[u8], path: &str, at: Option<Position>, what: &str) {
        match &self.namespace {
            None => self.namespace = Some(ns.to_vec()),
            Some(first) if first.as_slice() != ns => {
                let msg = format!(
                    "{what} namespace {:?} differs from {:?} seen first",
                    String::from_utf8_lossy(ns),
                    String::from_utf8_lossy(first)
                );
                self.report("namespace_mismatch", path, at, msg);
            }
            Some(_) => {}
        }
    }

    /// Checks one record; `at` tells where it starts (only asked when there is a finding).
    pub fn record(&mut self, rec: &Record, path: &str, at: impl Fn() -> Position) -> Result<()> {
        if self
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != rec.namespace())
        {
            self.check_namespace(rec.namespace(), path, Some(at()), "record");
        } else if self.namespace.is_none() {
            self.namespace = Some(rec.namespace().to_vec());
        }
        if let Some((kind, msg)) = self.check_digests.then(|| digest_finding(rec)).flatten() {
            self.report(kind, path, Some(at()), msg);
        }
        if self.check_digests && rec.key().is_some() {
            self.keys_checked += 1;
        }
        self.add_digest(rec.digest)
    }

    /// Takes the checks a worker made on one piece of a file (in file order). `false` when
    /// the piece holds records of another namespace than the one expected: then it must be
    /// checked again record by record with [`DeepCheck::record`], so each one is reported.
    pub fn take_piece(
        &mut self,
        piece: DeepPiece,
        path: &str,
        fix: impl Fn(Position) -> Position,
    ) -> Result<bool> {
        if piece.mixed {
            return Ok(false);
        }
        if let Some(ns) = piece.namespace {
            match &self.namespace {
                None => self.namespace = Some(ns),
                Some(first) if *first != ns => return Ok(false),
                Some(_) => {}
            }
        }
        for (kind, at, msg) in piece.findings {
            self.report(kind, path, Some(fix(at)), msg);
        }
        self.keys_checked += piece.keys_checked;
        for d in piece.digests {
            self.add_digest(d)?;
        }
        Ok(true)
    }

    fn add_digest(&mut self, digest: [u8; 20]) -> Result<()> {
        let file = (self.files.len().max(1) - 1) as u32;
        let bucket = partition_id(&digest) as usize;
        self.buckets[bucket].push((digest, file));
        self.in_memory += 1;
        if self.in_memory >= self.memory_limit {
            self.spill_all()?;
        }
        Ok(())
    }

    fn spill_all(&mut self) -> Result<()> {
        if self.spill.is_none() {
            self.spill = Some((
                tempfile_dir::Dir::new()?,
                (0..BUCKETS).map(|_| None).collect(),
            ));
        }
        let (dir, writers) = self.spill.as_mut().expect("just made");
        for (i, bucket) in self.buckets.iter_mut().enumerate() {
            if bucket.is_empty() {
                continue;
            }
            if writers[i].is_none() {
                writers[i] = Some(BufWriter::with_capacity(
                    4096,
                    File::create(dir.0.join(format!("{i}")))?,
                ));
            }
            let w = writers[i].as_mut().expect("just made");
            for (d, f) in bucket.drain(..) {
                w.write_all(&d)?;
                w.write_all(&f.to_le_bytes())?;
            }
        }
        self.in_memory = 0;
        Ok(())
    }

    /// Finds digests seen more than once; call after the last record.
    pub fn finish(&mut self) -> Result<()> {
        let mut spilled = self.spill.take();
        if let Some((_, writers)) = spilled.as_mut() {
            for w in writers.iter_mut().flatten() {
                w.flush()?;
            }
        }
        for i in 0..BUCKETS {
            let mut bucket = std::mem::take(&mut self.buckets[i]);
            if let Some((dir, writers)) = &spilled {
                if writers[i].is_some() {
                    let mut r = BufReader::new(File::open(dir.0.join(format!("{i}")))?);
                    let mut entry = [0u8; 24];
                    while r.read_exact(&mut entry).is_ok() {
                        let d: [u8; 20] = entry[..20].try_into().expect("20");
                        bucket.push((d, u32::from_le_bytes(entry[20..].try_into().expect("4"))));
                    }
                }
            }
            bucket.sort_unstable();
            for pair in bucket.windows(2) {
                if pair[0].0 == pair[1].0 {
                    let msg = format!(
                        "digest {} occurs more than once (also in {})",
                        base64_simd::STANDARD.encode_to_string(pair[1].0),
                        self.files
                            .get(pair[0].1 as usize)
                            .map_or("", String::as_str)
                    );
                    let path = self
                        .files
                        .get(pair[1].1 as usize)
                        .cloned()
                        .unwrap_or_default();
                    self.report("duplicate_digest", &path, None, msg);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: i64, digest_of: i64) -> Record {
        let mut r = Record::new();
        r.set_namespace(b"test");
        r.digest = compute_digest(b"", &Key::Int(digest_of));
        r.set_key(Some(Key::Int(key)));
        r
    }

    #[test]
    fn duplicates_are_found_across_spills() {
        for limit in [1, 3, 1000] {
            let mut d = DeepCheck::new(100, limit);
            d.start_file("a.asb", Some(b"test"));
            for i in 0..10 {
                d.record(&rec(i, i), "a.asb", Position::default).unwrap();
            }
            d.start_file("b.asb", Some(b"test"));
            d.record(&rec(3, 3), "b.asb", Position::default).unwrap();
            d.record(&rec(4, 5), "b.asb", Position::default).unwrap();
            d.finish().unwrap();
            assert_eq!(
                d.issue_counts.get("duplicate_digest"),
                Some(&2),
                "limit {limit}"
            );
            assert_eq!(
                d.issue_counts.get("digest_mismatch"),
                Some(&1),
                "limit {limit}"
            );
            let dup = d
                .issues
                .iter()
                .find(|i| i.kind == "duplicate_digest")
                .unwrap();
            assert_eq!(dup.path, "b.asb");
            assert!(dup.message.contains("also in a.asb"), "{}", dup.message);
        }
    }
}

#[cfg(test)]
mod resync_tests {
    use super::*;
    use crate::summary::Summary;
    use crate::Reader;

    fn findings(text: &[u8]) -> (Vec<(&'static str, u64)>, u64) {
        let mut d = DeepCheck::new(10, 1000);
        d.continue_after_errors = true;
        let mut summary = Summary::new(false);
        let mut reader = Reader::new(text).unwrap();
        summary.read(&mut reader, Some(&mut d), |_| Ok(())).unwrap();
        d.finish().unwrap();
        (
            d.issues
                .iter()
                .map(|i| (i.kind, i.position.map_or(0, |p| p.line)))
                .collect(),
            summary.records,
        )
    }

    #[test]
    fn reading_goes_on_after_syntax_errors() {
        let rec = |bin: &str| {
            format!("+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ g 1\n+ t 0\n+ b 1\n{bin}\n")
        };
        let text = format!(
            "Version 3.1\n# namespace test\n{}{}{}{}",
            rec("- I a 1"),
            rec("- Q a 1"),
            rec("- S a 3 x\n+ y"),
            rec("- I c 3")
        );
        let (found, records) = findings(text.as_bytes());
        // The bad type on line 14; the string value that runs into "+ y" on line 21 ("+ y"
        // is no entity start, so the search goes on to the next record).
        let errors: Vec<u64> = found
            .iter()
            .filter(|(k, _)| *k == "parse_error")
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(errors, [14, 21]);
        assert_eq!(records, 2, "the first and the last record are read");
        // Their digests are the same: that is found too.
        assert_eq!(
            found
                .iter()
                .filter(|(k, _)| *k == "duplicate_digest")
                .count(),
            1
        );
    }

    #[test]
    fn resync_ends_on_any_damage_and_across_window_refills() {
        let mut base = Vec::new();
        crate::synth::write_synthetic(&mut base, 3 << 20, 3).unwrap();
        let mut x = 7u64;
        let rounds = if cfg!(debug_assertions) { 20 } else { 300 };
        for round in 0..rounds {
            let mut text = base.clone();
            for _ in 0..1 + round % 20 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = 20 + (x as usize % (text.len() - 20));
                text[at] = b" \n+*-kZ0\\"[(x >> 40) as usize % 9];
            }
            let mut d = DeepCheck::new(1000, 1 << 20);
            d.continue_after_errors = true;
            let mut summary = Summary::new(false);
            let mut reader = Reader::new(&text[..]).unwrap();
            summary.read(&mut reader, Some(&mut d), |_| Ok(())).unwrap();
            assert!(summary.records > 0);
        }
    }
}

/// A record's digest finding: the digest is not RIPEMD-160 of its set and key.
fn digest_finding(rec: &Record) -> Option<(&'static str, String)> {
    let key = rec.key()?;
    let want = compute_digest(rec.set().unwrap_or_default(), &key);
    if want == rec.digest {
        return None;
    }
    let b64 = |d: &[u8; 20]| base64_simd::STANDARD.encode_to_string(d);
    let (kind, why) = match key {
        // `+ k B` carries no blob subtype: the key may have been hashed as another.
        Key::Bytes { .. } => (
            "bytes_key_digest_mismatch",
            " (bytes keys carry no blob subtype; it may be a non-generic blob)",
        ),
        _ => ("digest_mismatch", ""),
    };
    let msg = format!(
        "the digest {} is not RIPEMD-160 of the set and key ({}){why}",
        b64(&rec.digest),
        b64(&want)
    );
    Some((kind, msg))
}

/// The deep checks of one piece of a file, made on a worker thread and taken by the
/// [`DeepCheck`] in file order ([`DeepCheck::take_piece`]).
#[derive(Debug, Default)]
pub struct DeepPiece {
    check_digests: bool,
    /// Namespace of the piece's first record, and whether another one follows.
    namespace: Option<Vec<u8>>,
    mixed: bool,
    findings: Vec<(&'static str, Position, String)>,
    digests: Vec<[u8; 20]>,
    keys_checked: u64,
}

impl DeepPiece {
    pub fn new(check_digests: bool) -> DeepPiece {
        DeepPiece {
            check_digests,
            ..DeepPiece::default()
        }
    }

    /// Checks one record; `at` (lines counted from the piece's start) is asked only for a
    /// finding.
    pub fn record(&mut self, rec: &Record, at: impl Fn() -> Position) {
        match &self.namespace {
            None => self.namespace = Some(rec.namespace().to_vec()),
            Some(ns) if ns.as_slice() != rec.namespace() => self.mixed = true,
            Some(_) => {}
        }
        if self.check_digests {
            if let Some((kind, msg)) = digest_finding(rec) {
                self.findings.push((kind, at(), msg));
            }
            if rec.key().is_some() {
                self.keys_checked += 1;
            }
        }
        self.digests.push(rec.digest);
    }
}

//! Reading backups on every core, in order.
//!
//! Files are read side by side, and a big plain file is cut into pieces. A cut is first a
//! guess: the start of a line that reads `+ k ` or `+ n ` (how every record begins). Raw
//! values can hold such lines, so a guess is only taken once the piece before it, read from
//! a proven boundary, ends exactly there; otherwise the piece is read again from where the
//! piece before really ended. Results come back in file order, with no more than a few
//! pieces held at once.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::error::{Error, Result};
use crate::layers::Layers;
use crate::model::Header;
use crate::read::Reader;
use crate::source::{open_path, BoxedReader};

/// Bytes of text per piece of a plain file.
pub const PIECE_SIZE: u64 = 8 << 20;

/// A file and where it may be cut (piece starts after the first, all guesses).
#[derive(Debug)]
pub struct PlannedFile {
    pub path: PathBuf,
    header: Option<Header>,
    cuts: Vec<u64>,
    /// A cut file mapped once, shared by its pieces.
    map: Option<Arc<memmap2::Mmap>>,
}

impl PlannedFile {
    pub fn pieces(&self) -> usize {
        self.cuts.len() + 1
    }
}

/// Plans the reading of `paths`: plain files of at least two pieces are cut; compressed or
/// encrypted ones are read whole (their streams cannot be entered in the middle).
pub fn plan(paths: &[PathBuf], layers: &Layers, piece_size: u64) -> Result<Vec<PlannedFile>> {
    let piece_size = piece_size.max(4096);
    let mut planned = Vec::with_capacity(paths.len());
    for path in paths {
        let label = path.display().to_string();
        let size = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m.len(),
            _ => 0, // stdin, a pipe, or missing (opening reports it)
        };
        let mut file = PlannedFile {
            path: path.clone(),
            header: None,
            cuts: Vec::new(),
            map: None,
        };
        if layers.is_plain() && size >= 2 * piece_size {
            let f = File::open(path).map_err(|e| Error::from(e).with_path(label.clone()))?;
            let reader = Reader::with_path(&f, Some(label.clone()))?;
            let body = reader.offset();
            let header = reader.header().clone();
            drop(reader);
            let mut nominal = body + piece_size;
            while nominal + piece_size / 2 < size {
                match find_record_start(&f, nominal, nominal + piece_size)
                    .map_err(|e| Error::from(e).with_path(label.clone()))?
                {
                    Some(cut) => {
                        file.cuts.push(cut);
                        nominal = cut + piece_size;
                    }
                    None => nominal += piece_size,
                }
            }
            if !file.cuts.is_empty() {
                file.header = Some(header);
                file.map = crate::source::map_file(&f).filter(|m| m.len() as u64 == size);
            }
        }
        planned.push(file);
    }
    Ok(planned)
}

/// The first line start at or after `from` (and before `limit`) that reads `+ k ` or `+ n `.
fn find_record_start(file: &File, from: u64, limit: u64) -> std::io::Result<Option<u64>> {
    // Records are a few hundred bytes: the first small read nearly always finds one.
    let mut chunk = 4 << 10;
    let mut buf = Vec::new();
    // Start one byte early: the LF before `from` makes `from` itself a line start.
    let mut at = from - 1;
    while at < limit {
        buf.resize(chunk + 4, 0);
        chunk = (chunk * 2).min(256 << 10);
        let n = file.read_at(&mut buf, at)?;
        if n < 5 {
            return Ok(None);
        }
        let chunk = &buf[..n];
        for i in memchr::memchr_iter(b'\n', &chunk[..n - 4]) {
            if matches!(&chunk[i + 1..i + 5], b"+ k " | b"+ n ") {
                return Ok(Some(at + i as u64 + 1));
            }
        }
        at += (n - 4) as u64;
    }
    Ok(None)
}

/// What reading one piece gave.
pub struct Done<T> {
    pub file: usize,
    pub value: T,
    /// The error that ended the piece early (its position is in file lines already).
    pub error: Option<Error>,
    /// Lines before the piece in its file: positions the work recorded are positions in
    /// the file once shifted by them ([`crate::Position::lines_later`]).
    pub lines_before: u64,
    /// Where the piece starts in the file's text (0: at the header), and its length.
    pub start: u64,
    pub bytes: u64,
    pub first_of_file: bool,
    pub last_of_file: bool,
}

#[derive(Clone, Copy, Debug)]
struct Piece {
    file: usize,
    start: u64,
    stop: u64,
    first: bool,
    last: bool,
}

/// What a worker got from one piece: `end` is where its last entity ended.
struct PieceRead<T> {
    value: T,
    error: Option<Error>,
    start: u64,
    end: u64,
    lines: u64,
}

/// Reads every piece of `files` on `threads` threads, calling `work(reader, stop,
/// first_of_file)` on each (it reads entities while the reader's offset is below `stop`),
/// and `consume` on the results in file order. Stops at the first error, which `consume`
/// sees (in [`Done::error`]) before it is returned.
pub fn run<T: Send + Default>(
    files: &[PlannedFile],
    layers: &Layers,
    threads: usize,
    raw_count: &Arc<AtomicU64>,
    work: impl Fn(&mut BoxedReader<'static>, u64, bool) -> (T, Result<()>) + Sync,
    mut consume: impl FnMut(Done<T>) -> Result<()>,
) -> Result<RunStats> {
    let pieces: Vec<Piece> = files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            let starts = std::iter::once(0).chain(f.cuts.iter().copied());
            let stops = f.cuts.iter().copied().chain(std::iter::once(u64::MAX));
            let n = f.pieces();
            starts
                .zip(stops)
                .enumerate()
                .map(move |(k, (start, stop))| Piece {
                    file: i,
                    start,
                    stop,
                    first: k == 0,
                    last: k + 1 == n,
                })
        })
        .collect();
    let read_piece = |p: &Piece| -> PieceRead<T> {
        let file = &files[p.file];
        let opened = open_piece(file, p.start, layers, raw_count);
        match opened {
            Ok(mut reader) => {
                let (value, result) = work(&mut reader, p.stop, p.first);
                PieceRead {
                    value,
                    error: result.err(),
                    start: p.start,
                    end: reader.offset(),
                    // Only pieces that others follow need their lines counted.
                    lines: if p.last { 0 } else { reader.lines_read() },
                }
            }
            Err(e) => PieceRead {
                value: T::default(),
                error: Some(e),
                start: p.start,
                end: p.start,
                lines: 0,
            },
        }
    };

    let threads = threads.clamp(1, pieces.len().max(1));
    let window = 2 * threads;
    let state = Mutex::new(Shared {
        next: 0,
        consumed: 0,
        stop: false,
        results: BTreeMap::new(),
    });
    let changed = Condvar::new();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let k = {
                    let mut s = state.lock().expect("not poisoned");
                    while !s.stop && s.next < pieces.len() && s.next >= s.consumed + window {
                        s = changed.wait(s).expect("not poisoned");
                    }
                    if s.stop || s.next >= pieces.len() {
                        return;
                    }
                    s.next += 1;
                    s.next - 1
                };
                let r = read_piece(&pieces[k]);
                state.lock().expect("not poisoned").results.insert(k, r);
                changed.notify_all();
            });
        }
        let finish = |s: &Mutex<Shared<T>>| {
            s.lock().expect("not poisoned").stop = true;
            changed.notify_all();
        };
        let mut verified = 0u64;
        let mut lines_before = 0u64;
        let mut stats = RunStats {
            pieces: pieces.len(),
            wrong_cuts: 0,
        };
        for (k, piece) in pieces.iter().enumerate() {
            let mut r = {
                let mut s = state.lock().expect("not poisoned");
                loop {
                    if let Some(r) = s.results.remove(&k) {
                        break r;
                    }
                    s = changed.wait(s).expect("not poisoned");
                }
            };
            if piece.first {
                lines_before = 0;
            } else if r.start != verified {
                // The cut was a guess that proved wrong: the piece before ran past it.
                stats.wrong_cuts += 1;
                if piece.stop <= verified {
                    r = PieceRead {
                        value: T::default(),
                        error: None,
                        start: verified,
                        end: verified,
                        lines: 0,
                    };
                } else {
                    r = read_piece(&Piece {
                        start: verified,
                        ..*piece
                    });
                }
            }
            verified = r.end;
            let error = r.error.map(|mut e| {
                e.position = e.position.map(|p| p.lines_later(lines_before));
                e
            });
            let failed = error.is_some();
            let done = Done {
                file: piece.file,
                value: r.value,
                error,
                lines_before,
                start: r.start,
                bytes: r.end - r.start,
                first_of_file: piece.first,
                last_of_file: piece.last,
            };
            lines_before += r.lines;
            if !files[piece.file].cuts.is_empty() {
                raw_count.fetch_add(r.end - r.start, Ordering::Relaxed);
            }
            let consumed = consume(done);
            {
                let mut s = state.lock().expect("not poisoned");
                s.consumed = k + 1;
            }
            changed.notify_all();
            if let Err(e) = consumed {
                finish(&state);
                return Err(e);
            }
            if failed {
                finish(&state);
                return Ok(stats);
            }
        }
        Ok(stats)
    })
}

/// How a run went: pieces read, and cuts that were not record boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub pieces: usize,
    pub wrong_cuts: usize,
}

struct Shared<T> {
    next: usize,
    consumed: usize,
    stop: bool,
    results: BTreeMap<usize, PieceRead<T>>,
}

/// Opens a reader at `start`, a piece start of `file` (0: the file from its header).
pub fn open_piece(
    file: &PlannedFile,
    start: u64,
    layers: &Layers,
    raw_count: &Arc<AtomicU64>,
) -> Result<BoxedReader<'static>> {
    if file.cuts.is_empty() {
        return open_path(&file.path, layers, raw_count.clone());
    }
    // Pieces read a little past their end: their text is counted when they are taken.
    if start == 0 && file.map.is_none() {
        return open_path(&file.path, layers, Arc::new(AtomicU64::new(0)));
    }
    let label = file.path.display().to_string();
    let header = file.header.clone().expect("cut files keep their header");
    if let Some(map) = &file.map {
        let empty: Box<dyn Read + Send> = Box::new(std::io::empty());
        let header = (start > 0).then_some(header);
        return Reader::mapped(empty, map.clone(), start, header, Some(label), None);
    }
    let mut f = File::open(&file.path).map_err(|e| Error::from(e).with_path(label.clone()))?;
    f.seek(SeekFrom::Start(start))
        .map_err(|e| Error::from(e).with_path(label.clone()))?;
    let src: Box<dyn Read + Send> = Box::new(f);
    Ok(Reader::headless(src, header, start, Some(label)))
}

/// Where the plain file `path` can be read in pieces of about `piece_size` by readers that
/// do not see each other (hosts of their own): the starts of the pieces after the first,
/// each proven a record boundary (the text before it, read from the file's start, ends
/// exactly there). Empty for a file under two pieces, compressed or encrypted (its stream
/// cannot be entered in the middle). A damaged file gives its error.
pub fn proven_cuts(
    path: &Path,
    layers: &Layers,
    piece_size: u64,
    threads: usize,
) -> Result<Vec<u64>> {
    let planned = plan(&[path.to_path_buf()], layers, piece_size)?;
    if planned[0].cuts.is_empty() {
        return Ok(Vec::new());
    }
    let mut starts = Vec::new();
    run(
        &planned,
        layers,
        threads,
        &Arc::new(AtomicU64::new(0)),
        |reader, stop, _| {
            while reader.offset() < stop {
                match reader.next_entity() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => return ((), Err(e)),
                }
            }
            ((), Ok(()))
        },
        |done| {
            if let Some(e) = done.error {
                return Err(e);
            }
            if !done.first_of_file && done.bytes > 0 {
                starts.push(done.start);
            }
            Ok(())
        },
    )?;
    Ok(starts)
}

/// A reader of the plain file `path` from `start`, a record boundary ([`proven_cuts`]; 0:
/// the file from its header): it reads on to the end, the caller stops where its piece
/// ends. Text read is not counted (the caller counts its piece).
pub fn open_at(path: &Path, layers: &Layers, start: u64) -> Result<BoxedReader<'static>> {
    let label = path.display().to_string();
    if start > 0 && !layers.is_plain() {
        return Err(
            Error::layer("a compressed or encrypted file can only be read from its start")
                .with_path(label),
        );
    }
    let f = File::open(path).map_err(|e| Error::from(e).with_path(label.clone()))?;
    let size = f
        .metadata()
        .map_err(|e| Error::from(e).with_path(label.clone()))?
        .len();
    let reader = Reader::with_path(&f, Some(label.clone()))?;
    let header = reader.header().clone();
    drop(reader);
    let file = PlannedFile {
        path: path.to_path_buf(),
        header: Some(header),
        cuts: vec![start],
        map: crate::source::map_file(&f).filter(|m| m.len() as u64 == size),
    };
    open_piece(&file, start, layers, &Arc::new(AtomicU64::new(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Record, Value};
    use crate::read::Entity;
    use crate::write::Writer;

    /// Records whose string values hold lines that look like record starts.
    fn decoy_file(dir: &std::path::Path, records: u64) -> PathBuf {
        let path = dir.join("decoys.asb");
        let out = File::create(&path).unwrap();
        let mut w = Writer::new(out, &Header::new(b"test", true)).unwrap();
        let mut rec = Record::new();
        for i in 0..records {
            rec.clear();
            rec.set_namespace(b"test");
            rec.digest = [i as u8; 20];
            rec.push_bin(b"id", Value::Int(i as i64));
            let decoy = "\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 0\n"
                .repeat(1 + (i % 40) as usize);
            rec.push_bin(b"decoy", Value::Str(decoy.as_bytes()));
            w.write_record(&rec).unwrap();
        }
        w.into_inner().unwrap();
        path
    }

    fn count_records(files: &[PlannedFile], threads: usize) -> (Vec<(usize, u64, u64)>, RunStats) {
        let mut seen = Vec::new();
        let stats = run(
            files,
            &Layers::default(),
            threads,
            &Arc::new(AtomicU64::new(0)),
            |reader, stop, _| {
                let mut n = 0u64;
                while reader.offset() < stop {
                    match reader.next_entity() {
                        Ok(Some(Entity::Record(_))) => n += 1,
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => return (n, Err(e)),
                    }
                }
                (n, Ok(()))
            },
            |done| {
                seen.push((done.file, done.value, done.bytes));
                Ok(())
            },
        )
        .unwrap();
        (seen, stats)
    }

    #[test]
    fn proven_cuts_let_readers_that_never_meet_read_each_record_once() {
        let dir = std::env::temp_dir().join(format!("asb-cuts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = decoy_file(&dir, 2000);
        let size = std::fs::metadata(&path).unwrap().len();
        let cuts = proven_cuts(&path, &Layers::default(), 7777, 2).unwrap();
        assert!(cuts.len() > 10, "{} cuts", cuts.len());
        let bounds: Vec<u64> = std::iter::once(0)
            .chain(cuts)
            .chain(std::iter::once(size))
            .collect();
        let mut digests = Vec::new();
        for w in bounds.windows(2) {
            // Each piece on its own, as a host of its own reads it: from its start up to its stop.
            let mut reader = open_at(&path, &Layers::default(), w[0]).unwrap();
            while reader.offset() < w[1] {
                match reader.next_entity().unwrap() {
                    Some(Entity::Record(r)) => digests.push(r.digest[0]),
                    Some(_) => {}
                    None => break,
                }
            }
            assert_eq!(
                reader.offset(),
                w[1],
                "a piece ends exactly where the next begins"
            );
        }
        assert_eq!(digests, (0..2000u64).map(|i| i as u8).collect::<Vec<_>>());
        // A file under two pieces is read whole.
        assert!(proven_cuts(&path, &Layers::default(), size, 2)
            .unwrap()
            .is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn wrong_cuts_are_read_again_and_nothing_is_lost_or_doubled() {
        let dir = std::env::temp_dir().join(format!("asb-par-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = decoy_file(&dir, 2000);
        let size = std::fs::metadata(&path).unwrap().len();
        for piece in [4096u64, 7777, 30000] {
            let planned = plan(std::slice::from_ref(&path), &Layers::default(), piece).unwrap();
            for threads in [1, 2, 4] {
                let (seen, stats) = count_records(&planned, threads);
                assert_eq!(seen.iter().map(|s| s.1).sum::<u64>(), 2000);
                assert_eq!(
                    seen.iter().map(|s| s.2).sum::<u64>(),
                    size,
                    "every byte once"
                );
                assert!(stats.pieces > 10, "{stats:?}");
                assert!(
                    stats.wrong_cuts > 0,
                    "decoys must mislead some cuts: {stats:?}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

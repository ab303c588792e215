//! Where backup bytes come from: files, directories of `*.asb` files, stdin, any reader.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::layers::{open_reader, Layers};
use crate::read::Reader;

/// Counts the raw (still compressed/encrypted) bytes read, for progress reports.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub fn new(inner: R, count: Arc<AtomicU64>) -> Counting<R> {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub type BoxedReader<'a> = Reader<Box<dyn Read + Send + 'a>>;

/// Opens one backup stream: checks the layers against its start, then reads the header.
pub fn open_stream<'a>(
    raw: impl Read + Send + 'a,
    layers: &Layers,
    label: &str,
    raw_count: Arc<AtomicU64>,
) -> Result<BoxedReader<'a>> {
    let decoded =
        open_reader(Counting::new(raw, raw_count), layers).map_err(|e| e.with_path(label))?;
    Reader::with_path(decoded, Some(label.to_string()))
}

/// Opens a file, or stdin for `-`. Decompression runs on a second thread.
pub fn open_path(
    path: &Path,
    layers: &Layers,
    raw_count: Arc<AtomicU64>,
) -> Result<BoxedReader<'static>> {
    let (raw, label): (Box<dyn Read + Send>, String) = if path.as_os_str() == "-" {
        (Box::new(io::stdin()), "<stdin>".to_string())
    } else {
        let label = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::from(e).with_path(label.clone()))?;
        if layers.is_plain() {
            if let Some(map) = map_file(&file) {
                crate::layers::check_start(&map, layers).map_err(|e| e.with_path(label.clone()))?;
                let empty: Box<dyn Read + Send> = Box::new(io::empty());
                return Reader::mapped(empty, map, 0, None, Some(label), Some(raw_count));
            }
        }
        (Box::new(file), label)
    };
    let decoded = open_reader(Counting::new(raw, raw_count), layers)
        .map_err(|e| e.with_path(label.clone()))?;
    let decoded: Box<dyn Read + Send> = if layers.zstd {
        Box::new(Prefetch::new(decoded, 1 << 20, 4))
    } else {
        decoded
    };
    Reader::with_path(decoded, Some(label))
}

const POPULATE_UP_TO: u64 = 128 << 20;

/// Maps a regular, non-empty file, or `None` (then it is read). Parsing a mapped plain file
/// skips the kernel's copy into a read buffer.
pub fn map_file(file: &File) -> Option<Arc<memmap2::Mmap>> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is only read. A file truncated while mapped can fault (SIGBUS), as
    // with any mapped reader; backups being read are not expected to shrink.
    // Small files are faulted in at once; big ones are read ahead as they are parsed.
    let populate = meta.len() <= POPULATE_UP_TO;
    let mut options = memmap2::MmapOptions::new();
    if populate {
        options.populate();
    }
    let map = unsafe { options.map(file) }.ok()?;
    if !populate {
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Some(Arc::new(map))
}

/// The backup files of a directory as `asrestore` picks them (names ending in `.asb`,
/// longer than 4 bytes), sorted by name so runs are repeatable.
pub fn backup_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let label = dir.display().to_string();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::from(e).with_path(label.clone()))? {
        let entry = entry.map_err(|e| Error::from(e).with_path(label.clone()))?;
        let name = entry.file_name();
        let name = name.as_encoded_bytes();
        if name.len() > 4 && name.ends_with(b".asb") && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Runs a reader (the zstd decoder) on its own thread, a few blocks ahead of the parser, so
/// decompression and parsing use two cores. Memory: `depth` blocks of `block` bytes.
pub struct Prefetch {
    blocks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Prefetch {
    pub fn new(mut inner: impl Read + Send + 'static, block: usize, depth: usize) -> Prefetch {
        let (tx, rx) = std::sync::mpsc::sync_channel(depth);
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; block];
            let mut filled = 0;
            while filled < block {
                match inner.read(&mut buf[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            buf.truncate(filled);
            let last = filled < block;
            // A closed channel means the reader was dropped: stop quietly.
            if tx.send(Ok(buf)).is_err() || last {
                return;
            }
        });
        Prefetch {
            blocks: rx,
            current: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(block)) => {
                    self.done = block.is_empty();
                    self.current = block;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Output files written under temporary names beside their targets and renamed only when
/// all of them are complete, so a failure leaves nothing that looks like a backup. Dropped
/// without [`StagedFiles::commit`], it removes what it wrote.
#[derive(Default)]
pub struct StagedFiles {
    parts: Vec<(PathBuf, PathBuf)>,
}

impl StagedFiles {
    /// Creates the temporary file for `target`; a target that exists (or is staged) is an
    /// error: parts written into a directory never mix with files already there.
    pub fn create(&mut self, target: PathBuf) -> Result<File> {
        if target.exists() || self.parts.iter().any(|(_, t)| *t == target) {
            return Err(Error::value(format!("{} exists already", target.display())));
        }
        self.stage(target)
    }

    fn stage(&mut self, target: PathBuf) -> Result<File> {
        let name = target
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = target.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file =
            File::create(&tmp).map_err(|e| Error::from(e).with_path(tmp.display().to_string()))?;
        self.parts.push((tmp, target));
        Ok(file)
    }

    /// Where one named output goes, by the rule `asbkit convert` follows too: a regular file
    /// is replaced when everything is written (a new file takes its mode), a name that does
    /// not exist yet is created the same way, and a pipe or device (`/dev/null`) is written
    /// in place, since renaming onto it would replace it.
    pub fn replace(&mut self, target: PathBuf) -> Result<File> {
        let with_path = |e: std::io::Error| Error::from(e).with_path(target.display().to_string());
        let existing = match std::fs::metadata(&target) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(with_path(e)),
        };
        match existing {
            Some(meta) if !meta.is_file() => std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map_err(with_path),
            _ if self.parts.iter().any(|(_, t)| *t == target) => Err(Error::value(format!(
                "{} is written twice",
                target.display()
            ))),
            existing => {
                let file = self.stage(target)?;
                if let Some(meta) = existing {
                    file.set_permissions(meta.permissions()).map_err(|e| {
                        Error::from(e)
                            .with_path(self.parts[self.parts.len() - 1].0.display().to_string())
                    })?;
                }
                Ok(file)
            }
        }
    }

    /// Renames every file to its target; returns the targets.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        for (tmp, target) in &self.parts {
            std::fs::rename(tmp, target)
                .map_err(|e| Error::from(e).with_path(target.display().to_string()))?;
        }
        Ok(std::mem::take(&mut self.parts)
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }
}

impl Drop for StagedFiles {
    fn drop(&mut self) {
        for (tmp, _) in &self.parts {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

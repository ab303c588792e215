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
    let decoded = open_reader(Counting::new(raw, raw_count), layers).map_err(|e| e.with_path(label))?;
    Reader::with_path(decoded, Some(label.to_string()))
}

/// Opens a file, or stdin for `-`.
pub fn open_path(path: &Path, layers: &Layers, raw_count: Arc<AtomicU64>) -> Result<BoxedReader<'static>> {
    if path.as_os_str() == "-" {
        return open_stream(io::stdin(), layers, "<stdin>", raw_count);
    }
    let label = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::from(e).with_path(label.clone()))?;
    open_stream(file, layers, &label, raw_count)
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

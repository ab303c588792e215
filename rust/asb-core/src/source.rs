//! Where backup bytes come from: files, directories of `*.asb` files, stdin, any reader.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::layers::{open_reader, Layers};
use crate::read::Reader;
use crate::remote::{is_remote, remote_for, DurableWrite, StreamHash};

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
    } else if let Some(url) = remote_url(path) {
        (remote_for(url)?.open(url)?, url.to_string())
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
    if let Some(url) = remote_url(dir) {
        let mut files: Vec<PathBuf> = remote_for(url)?
            .list(url)?
            .into_iter()
            .filter(|e| {
                let name = e.url.rsplit('/').next().unwrap_or("");
                name.len() > 4 && name.ends_with(".asb")
            })
            .map(|e| PathBuf::from(e.url))
            .collect();
        files.sort();
        return Ok(files);
    }
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

/// Bytes go to files and to stdout through a buffer this big.
pub const OUTPUT_BUFFER: usize = 1 << 20;

/// The SHA-256 of a file or remote object (an object read in ranged requests), as
/// manifests list it.
pub fn sha256_of(path: &Path) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let (mut input, label) = open_input(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| Error::from(e).with_path(label.clone()))?;
        if n == 0 {
            return Ok(hash.finalize().into());
        }
        hash.update(&buf[..n]);
    }
}

/// A path or `-` (stdin) as raw bytes to read, and the name errors give it.
pub fn open_input(path: &Path) -> Result<(Box<dyn Read + Send>, String)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), "<stdin>".into()));
    }
    if let Some(url) = remote_url(path) {
        return Ok((remote_for(url)?.open(url)?, url.to_string()));
    }
    let label = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::from(e).with_path(label.clone()))?;
    Ok((Box::new(file), label))
}

/// The URL a path holds when it names a remote object (`s3://…`).
pub fn remote_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| is_remote(s))
}

/// A path or `-` (stdout) to write, buffered; a path is created (or truncated) as it is.
pub fn create_output(path: &Path) -> Result<Box<dyn Write + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::with_capacity(
            OUTPUT_BUFFER,
            std::io::stdout(),
        )));
    }
    let file =
        File::create(path).map_err(|e| Error::from(e).with_path(path.display().to_string()))?;
    Ok(Box::new(BufWriter::with_capacity(OUTPUT_BUFFER, file)))
}

/// One named output, opened by the rule every command follows: a regular file (or a name that
/// does not exist yet) is written under a temporary name beside it and renamed onto it when
/// complete; a pipe or device (`/dev/null`) is written in place, since renaming onto it would
/// replace it.
pub enum Output {
    /// Write to the target itself (not opened here: opening a pipe waits for its reader).
    InPlace,
    /// The temporary file and its name; a replaced file's mode is already on it (a new name
    /// gets the umask's).
    Staged(File, PathBuf),
}

/// Stages `target` by the [`Output`] rule.
pub fn stage_output(target: &Path) -> Result<Output> {
    let with_path = |e: std::io::Error| Error::from(e).with_path(target.display().to_string());
    match std::fs::metadata(target) {
        Ok(meta) if !meta.is_file() => Ok(Output::InPlace),
        Ok(meta) => {
            let (file, tmp) = create_beside(target)?;
            file.set_permissions(meta.permissions())
                .map_err(|e| Error::from(e).with_path(tmp.display().to_string()))?;
            Ok(Output::Staged(file, tmp))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (file, tmp) = create_beside(target)?;
            Ok(Output::Staged(file, tmp))
        }
        Err(e) => Err(with_path(e)),
    }
}

/// A new file `.<name>.<pid>.<n>.tmp` beside `target` (created exclusively: two writers
/// never share one).
fn create_beside(target: &Path) -> Result<(File, PathBuf)> {
    let name = target
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0u32.. {
        let tmp = target.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::from(e).with_path(tmp.display().to_string())),
        }
    }
    unreachable!("some temporary name is free")
}

/// A remote object being written as a staged output: its upload is completed (the object
/// appears, whole) only when the outputs are committed, and aborted otherwise.
type Upload = Arc<Mutex<Option<Box<dyn DurableWrite>>>>;

struct StagedObject {
    upload: Upload,
    hash: StreamHash,
    since_commit: usize,
}

impl Write for StagedObject {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut upload = self.upload.lock().unwrap_or_else(|p| p.into_inner());
        let w = upload
            .as_mut()
            .ok_or_else(|| io::Error::other("the upload was already ended"))?;
        let n = w.write(buf)?;
        self.hash.update(&buf[..n]);
        self.since_commit += n;
        // Every point is whole here (the object appears only when complete): let parts go.
        if self.since_commit >= 1 << 20 {
            w.commit_point(&self.hash).map_err(io::Error::other)?;
            self.since_commit = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Output files written under temporary names beside their targets and renamed only when
/// all of them are complete, so a failure leaves nothing that looks like a backup; remote
/// objects are uploads completed only then. Dropped without [`StagedFiles::commit`], it
/// removes what it wrote and aborts its uploads.
#[derive(Default)]
pub struct StagedFiles {
    parts: Vec<(PathBuf, PathBuf)>,
    uploads: Vec<(String, Upload)>,
}

impl StagedFiles {
    fn staged(&self, target: &Path) -> bool {
        self.parts.iter().any(|(_, t)| t == target)
            || self.uploads.iter().any(|(u, _)| Path::new(u) == target)
    }

    fn upload(&mut self, url: &str) -> Result<Box<dyn Write + Send>> {
        let w = remote_for(url)?.create(url)?;
        let upload: Upload = Arc::new(Mutex::new(Some(w)));
        self.uploads.push((url.to_string(), upload.clone()));
        Ok(Box::new(StagedObject {
            upload,
            hash: StreamHash::new(),
            since_commit: 0,
        }))
    }

    /// Creates the temporary file for `target`; a target that exists (or is staged) is an
    /// error: parts written into a directory never mix with files already there.
    pub fn create(&mut self, target: PathBuf) -> Result<Box<dyn Write + Send>> {
        if let Some(url) = remote_url(&target) {
            if self.staged(&target) || remote_for(url)?.size(url)?.is_some() {
                return Err(Error::value(format!("{url} exists already")));
            }
            return self.upload(url);
        }
        if target.exists() || self.staged(&target) {
            return Err(Error::value(format!("{} exists already", target.display())));
        }
        let (file, tmp) = create_beside(&target)?;
        self.parts.push((tmp, target));
        Ok(Box::new(file))
    }

    /// One named output, by the [`Output`] rule (as `asbkit convert` writes its output).
    pub fn replace(&mut self, target: PathBuf) -> Result<Box<dyn Write + Send>> {
        if self.staged(&target) {
            return Err(Error::value(format!(
                "{} is written twice",
                target.display()
            )));
        }
        if let Some(url) = remote_url(&target) {
            // An object is replaced whole when its upload completes.
            return self.upload(url);
        }
        match stage_output(&target)? {
            Output::InPlace => std::fs::OpenOptions::new()
                .write(true)
                .open(&target)
                .map(|f| Box::new(f) as Box<dyn Write + Send>)
                .map_err(|e| Error::from(e).with_path(target.display().to_string())),
            Output::Staged(file, tmp) => {
                self.parts.push((tmp, target));
                Ok(Box::new(file))
            }
        }
    }

    /// Renames every file to its target and completes every upload; returns the targets.
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        for (tmp, target) in &self.parts {
            std::fs::rename(tmp, target)
                .map_err(|e| Error::from(e).with_path(target.display().to_string()))?;
        }
        for (url, upload) in &self.uploads {
            let w = upload.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(w) = w {
                w.finish().map_err(|e| e.with_path(url.clone()))?;
            }
        }
        let mut done: Vec<PathBuf> = std::mem::take(&mut self.parts)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        done.extend(
            std::mem::take(&mut self.uploads)
                .into_iter()
                .map(|(u, _)| PathBuf::from(u)),
        );
        Ok(done)
    }
}

impl Drop for StagedFiles {
    fn drop(&mut self) {
        for (tmp, _) in &self.parts {
            let _ = std::fs::remove_file(tmp);
        }
        for (_, upload) in &self.uploads {
            if let Some(w) = upload.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = w.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("asb-stage-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sha256_of_a_file() {
        let dir = scratch("sha");
        let path = dir.join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let hex: String = sha256_of(&path)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let err = sha256_of(&dir.join("missing")).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn outputs_are_staged_beside_their_targets_by_one_rule() {
        let dir = scratch("rule");
        let target = dir.join("out.asb");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        // Two stagings of one target never share a temporary file.
        let (Output::Staged(_, a), Output::Staged(_, b)) = (
            stage_output(&target).unwrap(),
            stage_output(&target).unwrap(),
        ) else {
            panic!("a regular file is staged");
        };
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(dir.as_path()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (mode(&a), mode(&b)),
            (0o640, 0o640),
            "the replaced file's mode"
        );
        assert_eq!(
            std::fs::read(&target).unwrap(),
            b"old",
            "untouched until renamed"
        );
        assert!(matches!(
            stage_output(Path::new("/dev/null")).unwrap(),
            Output::InPlace
        ));

        // Dropped without commit: nothing staged is left; committed: the target is replaced.
        let mut staged = StagedFiles::default();
        staged.replace(target.clone()).unwrap();
        assert!(
            staged.replace(target.clone()).is_err(),
            "one target, one writer"
        );
        drop(staged);
        let mut staged = StagedFiles::default();
        std::io::Write::write_all(&mut staged.replace(target.clone()).unwrap(), b"new").unwrap();
        assert!(
            staged.create(dir.join("out.asb")).is_err(),
            "create never replaces"
        );
        assert_eq!(staged.commit().unwrap(), std::slice::from_ref(&target));
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(mode(&target), 0o640);
        std::fs::remove_file(&a).unwrap();
        std::fs::remove_file(&b).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["out.asb"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

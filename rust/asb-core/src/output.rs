//! Where a backup's text goes: a directory of files rotated at a size limit and named as C
//! `asbackup` names them, one shared file, or stdout. Other stores (object storage) are
//! another [`Target`]; whoever produces the records only appends text to a [`Job`].
//!
//! Each file counts and hashes (SHA-256) the bytes that reach it after the layers, and
//! knows its records and first and last digests: the manifest's entries.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::layers::{LayeredWriter, Layers};
use crate::model::Header;
use crate::pace::Pace;
use crate::remote::{is_remote, remote_for, DurableWrite, StreamHash};
use crate::write::encode_header;

#[derive(Clone, Debug)]
pub enum Target {
    /// `<dir>/<prefix>_<NNNNN>.asb`, a new file once one holds `file_limit` bytes (0: never).
    Directory {
        dir: PathBuf,
        prefix: String,
        file_limit: u64,
    },
    /// One file for every job.
    File(PathBuf),
    Stdout,
}

/// One file's account, as the manifest and the resume state keep it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Path, or `-` for stdout.
    pub name: String,
    /// Order of creation, from 0 (the number in the name).
    pub index: u64,
    /// Bytes in the file (after compression and encryption).
    pub bytes: u64,
    /// Text bytes before the layers.
    pub text_bytes: u64,
    pub records: u64,
    pub first_digest: Option<[u8; 20]>,
    pub last_digest: Option<[u8; 20]>,
    /// Set when the file is complete.
    pub sha256: Option<[u8; 32]>,
    /// A remote object left unfinished: what its store needs to write on from `bytes`.
    pub resume: Option<Vec<u8>>,
}

/// A local file (or stdout), or a remote object whose bytes become durable in parts.
enum Out {
    Local(Box<dyn Write + Send>),
    Remote(Box<dyn DurableWrite>),
}

/// Counts and hashes what reaches the file, and keeps its first 16 bytes (an encrypted
/// stream's head, which continuing it needs).
struct Sink {
    out: Out,
    hasher: StreamHash,
    bytes: u64,
    head: Vec<u8>,
}

impl Sink {
    fn new(out: Out, hasher: StreamHash, bytes: u64, head: &[u8]) -> Sink {
        Sink {
            out,
            hasher,
            bytes,
            head: head.to_vec(),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.out {
            Out::Local(w) => w.write(buf)?,
            Out::Remote(w) => w.write(buf)?,
        };
        if self.head.len() < STREAM_HEAD {
            let k = (STREAM_HEAD - self.head.len()).min(n);
            self.head.extend_from_slice(&buf[..k]);
        }
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Out::Local(w) => w.flush(),
            Out::Remote(w) => w.flush(),
        }
    }
}

/// The head of a stream a continuation needs: an encrypted one's IV block.
const STREAM_HEAD: usize = 16;

/// What continuing a stream (stdout) needs, kept in its account's `resume`: its head, then
/// the SHA-256 state of every byte it got.
fn stream_token(sink: &Sink) -> Vec<u8> {
    let mut token = sink.head.clone();
    token.resize(STREAM_HEAD, 0);
    token.extend(sink.hasher.to_bytes());
    token
}

/// Progress that travels with the text holding it: a partition's last record and how many
/// of its records the text adds. A commit hands back the marks of everything it made
/// durable, whichever job wrote it (one file takes every job's text with `--output-file`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub pid: u16,
    pub digest: [u8; 20],
    pub records: u64,
    /// The partition was read to its end (then `digest` and `records` say nothing): it
    /// counts as done once everything before this mark is durable.
    pub done: bool,
}

/// An open output file.
pub struct OpenFile {
    writer: LayeredWriter<Sink>,
    stats: FileStats,
    /// The file itself (None for stdout), to sync at checkpoints.
    file: Option<File>,
    /// A stream (stdout): its bytes are final once written, and it is continued by writing
    /// on, never cut back; each commit's account carries what continuing needs.
    stream: bool,
    /// Marks of the text written since the last commit.
    marks: Vec<Mark>,
    /// Remote objects: commits not yet durable (their end, account and marks), oldest
    /// first, and the account of the last durable one.
    pending: std::collections::VecDeque<(u64, FileStats, Vec<Mark>)>,
    durable: Option<FileStats>,
}

impl OpenFile {
    fn new(writer: LayeredWriter<Sink>, stats: FileStats, file: Option<File>) -> OpenFile {
        OpenFile {
            writer,
            stats,
            file,
            stream: false,
            marks: Vec::new(),
            pending: Default::default(),
            durable: None,
        }
    }

    fn is_remote(&self) -> bool {
        matches!(self.writer.get_ref().out, Out::Remote(_))
    }

    fn write_text(
        &mut self,
        text: &[u8],
        records: u64,
        first: Option<[u8; 20]>,
        last: Option<[u8; 20]>,
    ) -> Result<()> {
        self.writer.write_all(text).map_err(|e| self.io_error(e))?;
        self.stats.text_bytes += text.len() as u64;
        self.stats.records += records;
        if self.stats.first_digest.is_none() {
            self.stats.first_digest = first;
        }
        if last.is_some() {
            self.stats.last_digest = last;
        }
        self.refresh_bytes();
        Ok(())
    }

    /// The bytes the file holds now (the sink under the layers counts them as they go).
    fn refresh_bytes(&mut self) {
        self.stats.bytes = self.writer.get_ref().bytes;
    }

    fn io_error(&self, e: io::Error) -> Error {
        Error::from(e).with_path(self.stats.name.clone())
    }

    /// Ends the zstd frame and hands everything to the OS: the file is whole up to the
    /// returned length, even if this process is killed right after. A remote object is
    /// durable only up to its last uploaded part: the account returned is of that point
    /// (None before the first), with the marks of what became durable since last asked.
    fn commit(&mut self, sync: bool) -> Result<(Option<FileStats>, Vec<Mark>)> {
        self.writer
            .end_frame()
            .map_err(|e| e.with_path(self.stats.name.clone()))?;
        self.refresh_bytes();
        let name = self.stats.name.clone();
        let sink = self.writer.get_mut();
        let Out::Remote(remote) = &mut sink.out else {
            if self.stream {
                self.stats.resume = Some(stream_token(sink));
            }
            if sync {
                if let Some(f) = &self.file {
                    f.sync_data().map_err(|e| self.io_error(e))?;
                }
            }
            return Ok((Some(self.stats.clone()), std::mem::take(&mut self.marks)));
        };
        remote
            .commit_point(&sink.hasher)
            .map_err(|e| e.with_path(name.clone()))?;
        self.pending.push_back((
            self.stats.bytes,
            self.stats.clone(),
            std::mem::take(&mut self.marks),
        ));
        self.collect_durable()
    }

    /// Remote objects: the commits now durable.
    fn collect_durable(&mut self) -> Result<(Option<FileStats>, Vec<Mark>)> {
        let name = self.stats.name.clone();
        let Out::Remote(remote) = &mut self.writer.get_mut().out else {
            return Ok((self.durable.clone(), Vec::new()));
        };
        let durable = remote.durable().map_err(|e| e.with_path(name))?;
        let mut marks = Vec::new();
        let mut newest = None;
        while self
            .pending
            .front()
            .is_some_and(|(end, _, _)| *end <= durable)
        {
            let (_, stats, m) = self.pending.pop_front().unwrap();
            marks.extend(m);
            newest = Some(stats);
        }
        if let Some(mut stats) = newest {
            debug_assert_eq!(stats.bytes, durable, "parts end where commits did");
            stats.resume = remote.token();
            self.durable = Some(stats);
        }
        Ok((self.durable.clone(), marks))
    }

    /// Closes the file; its account, and the marks of commits that were waiting for a
    /// remote object's parts (all durable once it is whole).
    fn finish(self) -> Result<(FileStats, Vec<Mark>)> {
        debug_assert!(
            self.marks.is_empty(),
            "a file is closed only right after a commit"
        );
        let name = self.stats.name.clone();
        let mut stats = self.stats;
        let sink = self
            .writer
            .finish()
            .map_err(|e| e.with_path(name.clone()))?;
        stats.bytes = sink.bytes;
        // A continued stream's hash covers every run's bytes (its state was carried on).
        stats.sha256 = Some(sink.hasher.finalize());
        stats.resume = None;
        if let Out::Remote(remote) = sink.out {
            // Every part is up: the object is whole once completed, which waits for a
            // saved state that lists it so (with this token) — see Output::complete_sealed.
            stats.resume = remote.seal().map_err(|e| e.with_path(name.clone()))?;
        }
        if let Some(f) = &self.file {
            f.sync_data().map_err(|e| Error::from(e).with_path(name))?;
        }
        let marks = self.pending.into_iter().flat_map(|(_, _, m)| m).collect();
        Ok((stats, marks))
    }
}

pub struct Output {
    target: Target,
    namespace: Vec<u8>,
    layers: Layers,
    next_index: Mutex<u64>,
    parked: Mutex<Vec<OpenFile>>,
    done: Mutex<Vec<FileStats>>,
    /// The last commit of each open file.
    committed: Mutex<std::collections::BTreeMap<u64, FileStats>>,
    shared: Option<Shared>,
    /// `-N/--nice`: written bytes per second across all jobs.
    pace: Option<Pace>,
    /// Bytes commits wrote (a zstd frame's end), paced with the next append: a commit runs
    /// under the checkpoint's lock, where no one may wait.
    unpaced: std::sync::atomic::AtomicU64,
    /// sync_data at every checkpoint (a kill loses nothing committed; a power cut neither).
    pub sync_commits: bool,
}

/// What one producer writes into: its own file (directory mode) or the shared one.
pub enum Job {
    Own(Option<Box<OpenFile>>),
    Shared(Shared),
}

/// The one file of `--output-file`; emptied when the backup finishes.
pub type Shared = Arc<Mutex<Option<OpenFile>>>;

impl Output {
    /// `first_file_shared`: for a single file, whether its header says `# first-file`
    /// (it does when indexes and UDFs go into it).
    pub fn new(
        target: Target,
        namespace: &[u8],
        layers: Layers,
        first_file_shared: bool,
        bytes_per_second: u64,
    ) -> Result<Output> {
        let mut out = Output::new_empty(target, namespace, layers, bytes_per_second);
        if !matches!(out.target, Target::Directory { .. }) {
            let mut f = out.create(first_file_shared)?;
            if f.stream {
                // The header is on stdout now, for good: a state saved from here on counts it.
                let (stats, _) = f.commit(false)?;
                out.note_commit(stats.as_ref());
            }
            out.shared = Some(Arc::new(Mutex::new(Some(f))));
        }
        Ok(out)
    }

    /// Continues after an interruption: `files` as last committed (directory mode: every
    /// file made so far; one file otherwise). Each file is cut back to its committed length
    /// and written on from there; complete files (with a digest) stay closed.
    pub fn resume(
        target: Target,
        namespace: &[u8],
        layers: Layers,
        files: &[FileStats],
        bytes_per_second: u64,
    ) -> Result<Output> {
        let mut out = Output::new_empty(target, namespace, layers, bytes_per_second);
        let mut next = 0;
        for f in files {
            next = next.max(f.index + 1);
            if f.sha256.is_some() {
                // A complete file must still be there as it was left (a sealed object is
                // completed now: the backup stopped before it could be).
                let len = if is_remote(&f.name) {
                    let remote = remote_for(&f.name)?;
                    if let Some(token) = &f.resume {
                        remote.complete(&f.name, token)?;
                    }
                    remote.size(&f.name)?.ok_or_else(|| {
                        Error::value(format!("{} is gone since the state was saved", f.name))
                            .with_path(f.name.clone())
                    })?
                } else {
                    std::fs::metadata(&f.name)
                        .map_err(|e| Error::from(e).with_path(f.name.clone()))?
                        .len()
                };
                if len != f.bytes {
                    return Err(Error::value(format!(
                        "{} is {len} bytes long, not the {} it had when complete: it was changed since",
                        f.name, f.bytes
                    )));
                }
                out.done.lock().unwrap().push(FileStats {
                    resume: None,
                    ..f.clone()
                });
                continue;
            }
            let open = out.reopen(f)?;
            out.committed.lock().unwrap().insert(f.index, f.clone());
            match out.target {
                Target::Directory { .. } => out.parked.lock().unwrap().push(open),
                _ => out.shared = Some(Arc::new(Mutex::new(Some(open)))),
            }
        }
        *out.next_index.lock().unwrap() = next;
        if out.shared.is_none() && !matches!(out.target, Target::Directory { .. }) {
            return Err(Error::value("the state holds no file for --output-file"));
        }
        Ok(out)
    }

    fn new_empty(
        target: Target,
        namespace: &[u8],
        layers: Layers,
        bytes_per_second: u64,
    ) -> Output {
        Output {
            target,
            namespace: namespace.to_vec(),
            layers,
            next_index: Mutex::new(0),
            parked: Mutex::new(Vec::new()),
            done: Mutex::new(Vec::new()),
            committed: Mutex::default(),
            shared: None,
            pace: Pace::new(bytes_per_second),
            unpaced: Default::default(),
            sync_commits: true,
        }
    }

    fn reopen(&self, f: &FileStats) -> Result<OpenFile> {
        if is_remote(&f.name) {
            return self.reopen_remote(f);
        }
        if matches!(self.target, Target::Stdout) {
            return self.reopen_stream(f);
        }
        let path = Path::new(&f.name);
        let err = |e: io::Error| Error::from(e).with_path(f.name.clone());
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(err)?;
        let len = file.metadata().map_err(err)?.len();
        if len < f.bytes {
            return Err(Error::value(format!(
                "{} is {len} bytes long, shorter than the {} bytes the state says were written: it was changed since",
                f.name, f.bytes
            )));
        }
        file.set_len(f.bytes).map_err(err)?;
        // The hash goes on from the committed bytes, which are read back once.
        let mut hasher = StreamHash::new();
        let mut head = [0u8; 16];
        file.rewind().map_err(err)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut seen = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(err)?;
            if n == 0 {
                break;
            }
            if seen < 16 {
                let k = (16 - seen as usize).min(n);
                head[seen as usize..seen as usize + k].copy_from_slice(&buf[..k]);
            }
            hasher.update(&buf[..n]);
            seen += n as u64;
        }
        file.seek(io::SeekFrom::End(0)).map_err(err)?;
        let sync_handle = file.try_clone().map_err(err)?;
        let sink = Sink::new(Out::Local(Box::new(file)), hasher, f.bytes, &head);
        let writer = LayeredWriter::resume(sink, &self.layers, &head, f.bytes)
            .map_err(|e| e.with_path(f.name.clone()))?;
        Ok(OpenFile::new(writer, f.clone(), Some(sync_handle)))
    }

    /// Stdout goes on where the interrupted run's stream stopped: nothing is written again
    /// (no header), a compressed stream starts a new frame, an encrypted one goes on with
    /// its keystream, so the streams of every run, appended, are one backup.
    fn reopen_stream(&self, f: &FileStats) -> Result<OpenFile> {
        let damaged = || {
            Error::value(format!(
                "the state holds no stream to continue for {}: it was changed since",
                f.name
            ))
        };
        let token = f.resume.as_deref().ok_or_else(damaged)?;
        if token.len() < STREAM_HEAD {
            return Err(damaged());
        }
        let (head, hash) = token.split_at(STREAM_HEAD);
        let hasher = StreamHash::from_bytes(hash)?;
        if hasher.len() != f.bytes {
            return Err(damaged());
        }
        let head: [u8; STREAM_HEAD] = head.try_into().expect("split at its length");
        let sink = Sink::new(
            Out::Local(Box::new(stdout_writer()?)),
            hasher,
            f.bytes,
            &head,
        );
        let writer = LayeredWriter::resume(sink, &self.layers, &head, f.bytes)
            .map_err(|e| e.with_path(f.name.clone()))?;
        let mut open = OpenFile::new(writer, f.clone(), None);
        open.stream = true;
        Ok(open)
    }

    /// A remote object goes on from its durable point, with the hash state saved there.
    fn reopen_remote(&self, f: &FileStats) -> Result<OpenFile> {
        let token = f.resume.as_deref().ok_or_else(|| {
            Error::value(format!(
                "the state holds no upload to continue for {}: it was changed since",
                f.name
            ))
        })?;
        let (out, head, hasher) = remote_for(&f.name)?.resume(&f.name, token)?;
        if hasher.len() != f.bytes {
            return Err(Error::value(format!(
                "the saved upload of {} holds {} bytes, not the {} the state says",
                f.name,
                hasher.len(),
                f.bytes
            )));
        }
        let sink = Sink::new(Out::Remote(out), hasher, f.bytes, &head);
        let writer = LayeredWriter::resume(sink, &self.layers, &head, f.bytes)
            .map_err(|e| e.with_path(f.name.clone()))?;
        let mut open = OpenFile::new(writer, f.clone(), None);
        open.durable = Some(f.clone());
        Ok(open)
    }

    fn file_name(&self, index: u64) -> Option<PathBuf> {
        match &self.target {
            Target::Directory { dir, prefix, .. } => {
                Some(dir.join(format!("{prefix}_{index:05}.asb")))
            }
            Target::File(p) => Some(p.clone()),
            Target::Stdout => None,
        }
    }

    fn create(&self, first_file: bool) -> Result<OpenFile> {
        let index = {
            let mut n = self.next_index.lock().unwrap();
            let i = *n;
            *n += 1;
            i
        };
        let (out, file, name): (Out, Option<File>, String) = match self.file_name(index) {
            Some(path) if is_remote(&path.to_string_lossy()) => {
                let name = path.to_string_lossy().into_owned();
                let w = remote_for(&name)?.create(&name)?;
                (Out::Remote(w), None, name)
            }
            Some(path) => {
                let name = path.display().to_string();
                // A pipe or device (a FIFO, /dev/null) is written in place; files are new.
                let special = std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir());
                let f = if special {
                    OpenOptions::new().write(true).open(&path)
                } else {
                    OpenOptions::new().write(true).create_new(true).open(&path)
                }
                .map_err(|e| Error::from(e).with_path(name.clone()))?;
                // Pipes and devices cannot be synced (nor continued).
                let handle = if special {
                    None
                } else {
                    Some(
                        f.try_clone()
                            .map_err(|e| Error::from(e).with_path(name.clone()))?,
                    )
                };
                (Out::Local(Box::new(f)), handle, name)
            }
            None => (
                Out::Local(Box::new(stdout_writer()?)),
                None,
                "-".to_string(),
            ),
        };
        let sink = Sink::new(out, StreamHash::new(), 0, &[]);
        let mut writer =
            LayeredWriter::new(sink, &self.layers).map_err(|e| e.with_path(name.clone()))?;
        let mut head = Vec::new();
        encode_header(&mut head, &Header::new(&self.namespace, first_file))?;
        writer
            .write_all(&head)
            .map_err(|e| Error::from(e).with_path(name.clone()))?;
        let mut f = OpenFile::new(
            writer,
            FileStats {
                name,
                index,
                ..FileStats::default()
            },
            file,
        );
        f.stream = matches!(self.target, Target::Stdout);
        f.stats.text_bytes = head.len() as u64;
        f.refresh_bytes();
        Ok(f)
    }

    /// A file for one producer: in directory mode a parked file (one a finished job left
    /// below the limit) or a new one; `first_file` always gets a new one, as the C tool
    /// writes `# first-file` only at the top of a file.
    pub fn job(&self, first_file: bool) -> Result<Job> {
        if let Some(shared) = &self.shared {
            return Ok(Job::Shared(shared.clone()));
        }
        if !first_file {
            if let Some(f) = self.parked.lock().unwrap().pop() {
                return Ok(Job::Own(Some(Box::new(f))));
            }
        }
        Ok(Job::Own(Some(Box::new(self.create(first_file)?))))
    }

    /// Takes back a producer's file: parked for the next job if below the limit, else
    /// closed. Marks that become durable here (a remote object closed) are returned; a
    /// remote object parked keeps its waiting marks for whoever commits it next.
    pub fn release(&self, job: Job) -> Result<Vec<Mark>> {
        if let Job::Shared(shared) = &job {
            // What the job wrote since its last commit (index and UDF lines) is committed as
            // it goes: on stdout those bytes are out already, and a state must count them.
            if lock(shared).as_ref().is_none_or(|f| f.is_remote()) {
                return Ok(Vec::new());
            }
            let mut job = job;
            return Ok(self.commit(&mut job)?.1);
        }
        if let Job::Own(Some(f)) = job {
            let f = *f;
            if self.over_limit(&f) {
                return self.close(f);
            }
            let mut f = f;
            if !f.is_remote() {
                let (stats, marks) = f.commit(self.sync_commits)?;
                debug_assert!(marks.is_empty(), "a job is released after its last commit");
                self.note_commit(stats.as_ref());
            }
            self.parked.lock().unwrap().push(f);
        }
        Ok(Vec::new())
    }

    fn over_limit(&self, f: &OpenFile) -> bool {
        match self.target {
            Target::Directory { file_limit, .. } => file_limit > 0 && f.stats.bytes >= file_limit,
            _ => false,
        }
    }

    /// Appends whole records' text to the job's file, with the marks of its records. Files
    /// are not rotated here: a full file is closed by [`Output::rotate_if_full`] right after
    /// a commit, so a file is only ever complete at a committed length.
    pub fn append(
        &self,
        job: &mut Job,
        text: &[u8],
        records: u64,
        first: Option<[u8; 20]>,
        last: Option<[u8; 20]>,
        marks: &mut Vec<Mark>,
    ) -> Result<()> {
        let write = |f: &mut OpenFile, marks: &mut Vec<Mark>| -> Result<(u64, u64)> {
            let before = f.stats.bytes;
            f.write_text(text, records, first, last)?;
            f.marks.append(marks);
            Ok((before, f.stats.bytes))
        };
        let (before, after) = match job {
            Job::Shared(f) => write(lock(f).as_mut().ok_or_else(finished)?, marks)?,
            Job::Own(slot) => write(slot.as_mut().ok_or_else(lost)?, marks)?,
        };
        let committed = self.unpaced.swap(0, std::sync::atomic::Ordering::Relaxed);
        self.pace(after.saturating_sub(before) + committed);
        Ok(())
    }

    /// Whether the job's file has reached the size limit (directory mode).
    pub fn is_full(&self, job: &Job) -> bool {
        match job {
            Job::Own(Some(f)) => self.over_limit(f),
            _ => false,
        }
    }

    /// Closes the job's file if it is full and gives the job a new one. Call it right after
    /// [`Output::commit`]: the closed file then ends where its last commit ended. Returns
    /// the marks that closing made durable (a remote object's waiting ones).
    pub fn rotate_if_full(&self, job: &mut Job) -> Result<Vec<Mark>> {
        if let Job::Own(slot) = job {
            if slot.as_ref().is_some_and(|f| self.over_limit(f)) {
                let marks = self.close(*slot.take().unwrap())?;
                *slot = Some(Box::new(self.create(false)?));
                return Ok(marks);
            }
        }
        Ok(Vec::new())
    }

    fn pace(&self, bytes: u64) {
        if let Some(pace) = &self.pace {
            std::thread::sleep(pace.take(bytes));
        }
    }

    fn close(&self, f: OpenFile) -> Result<Vec<Mark>> {
        let (stats, marks) = f.finish()?;
        self.committed.lock().unwrap().remove(&stats.index);
        self.done.lock().unwrap().push(stats);
        Ok(marks)
    }

    /// Makes what the job's file holds durable; returns the file's committed account and the
    /// marks of everything this commit made durable (with one shared file, other jobs' too).
    pub fn commit(&self, job: &mut Job) -> Result<(Option<FileStats>, Vec<Mark>)> {
        let commit = |f: &mut OpenFile| -> Result<(Option<FileStats>, Vec<Mark>)> {
            let before = f.stats.bytes;
            let done = f.commit(self.sync_commits)?;
            if self.pace.is_some() {
                self.unpaced.fetch_add(
                    f.stats.bytes.saturating_sub(before),
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            Ok(done)
        };
        let (stats, marks) = match job {
            Job::Shared(f) => commit(lock(f).as_mut().ok_or_else(finished)?)?,
            Job::Own(slot) => commit(slot.as_mut().ok_or_else(lost)?)?,
        };
        self.note_commit(stats.as_ref());
        Ok((stats, marks))
    }

    /// An open file's last commit, as `files` lists it.
    fn note_commit(&self, stats: Option<&FileStats>) {
        if let Some(stats) = stats {
            self.committed
                .lock()
                .unwrap()
                .insert(stats.index, stats.clone());
        }
    }

    /// Closes every file; the accounts of all files, in creation order.
    pub fn finish(&self) -> Result<Vec<FileStats>> {
        let parked = std::mem::take(&mut *self.parked.lock().unwrap());
        for f in parked {
            self.close(f)?;
        }
        if let Some(shared) = &self.shared {
            let f = lock(shared).take();
            if let Some(f) = f {
                self.close(f)?;
            }
        }
        self.complete_sealed()?;
        let mut done = self.done.lock().unwrap().clone();
        done.sort_by_key(|f| f.index);
        Ok(done)
    }

    /// Completes the remote objects sealed so far. Call it once a saved state lists them
    /// (as complete, with their tokens): a backup killed before or during this completes
    /// them when continued; one killed after finds them whole.
    pub fn complete_sealed(&self) -> Result<()> {
        let sealed: Vec<(u64, String, Vec<u8>)> = self
            .done
            .lock()
            .unwrap()
            .iter()
            .filter_map(|f| Some((f.index, f.name.clone(), f.resume.clone()?)))
            .collect();
        for (index, name, token) in sealed {
            remote_for(&name)?.complete(&name, &token)?;
            if let Some(f) = self
                .done
                .lock()
                .unwrap()
                .iter_mut()
                .find(|f| f.index == index)
            {
                f.resume = None;
            }
        }
        Ok(())
    }

    /// Accounts of every file now: complete ones, and open ones as of their last commit
    /// (a file never committed is not listed: continuing removes it).
    pub fn files(&self) -> Vec<FileStats> {
        let mut all = self.done.lock().unwrap().clone();
        all.extend(self.committed.lock().unwrap().values().cloned());
        all.sort_by_key(|f| f.index);
        all
    }
}

/// Stdout as a file of its own (a duplicate of the descriptor): every write goes straight
/// to it, none waits in a buffer, so what a write returns is what the reader got.
#[cfg(unix)]
fn stdout_writer() -> Result<File> {
    use std::os::fd::AsFd;
    let fd = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::from(e).with_path("-".to_string()))?;
    Ok(File::from(fd))
}

#[cfg(not(unix))]
fn stdout_writer() -> Result<io::Stdout> {
    Ok(io::stdout())
}

fn finished() -> Error {
    Error::value("the output was already closed")
}

/// A job whose file failed to close (a remote object's last parts could not go up) has
/// none to write on: an error, not a panic, for whoever commits after the failure.
fn lost() -> Error {
    Error::value("this job's file was lost to an earlier error closing it")
}

fn lock(f: &Shared) -> MutexGuard<'_, Option<OpenFile>> {
    f.lock().unwrap_or_else(|p| p.into_inner())
}

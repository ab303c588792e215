//! A partition scan written into a backup output, with checkpoints that tie each file's
//! committed length to how far each partition got, so a backup killed at any moment
//! continues with every record exactly once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use asb_core::output::{FileStats, Job, Mark, Output};
use asb_core::write::encode_record;
use asb_core::Record;

use crate::conn::{ConnectOptions, Connection};
use crate::error::{WireError, WireErrorKind};
use crate::proto::partition_of;
use crate::scan::{
    run_scan, DecodeOptions, RecordSink, ScanLimits, ScanOutcome, ScanRequest, N_PARTITIONS,
};

/// Text handed to the output at once: whole records, so a file only ever holds whole ones.
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartitionState {
    /// The last record of this partition that is in a committed file.
    pub last: Option<[u8; 20]>,
    pub records: u64,
    /// The partition was read to its end.
    pub done: bool,
}

/// Shared by every scan of one backup.
pub struct Checkpoint {
    /// Progress that is durable in the files (what a saved state holds).
    partitions: Mutex<Vec<PartitionState>>,
    /// Progress handed to the output: ahead of `partitions` while a remote object's parts
    /// are still going up. Scans of this run go on from here, so none reads a record twice.
    written: Mutex<Vec<PartitionState>>,
    /// Live counts for progress displays (records handed to the output).
    pub records: AtomicU64,
    pub text_bytes: AtomicU64,
    pub cancel: AtomicBool,
}

impl Default for Checkpoint {
    fn default() -> Checkpoint {
        Checkpoint::new(vec![PartitionState::default(); N_PARTITIONS])
    }
}

impl Checkpoint {
    pub fn new(partitions: Vec<PartitionState>) -> Checkpoint {
        assert_eq!(partitions.len(), N_PARTITIONS);
        Checkpoint {
            written: Mutex::new(partitions.clone()),
            partitions: Mutex::new(partitions),
            records: AtomicU64::new(0),
            text_bytes: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<PartitionState>> {
        self.partitions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How far this run got in a partition (handed to the output; durable or about to be).
    pub fn partition(&self, pid: u16) -> PartitionState {
        self.written.lock().unwrap_or_else(|p| p.into_inner())[pid as usize]
    }

    /// How far a partition is durable in the files.
    pub fn durable(&self, pid: u16) -> PartitionState {
        self.lock()[pid as usize]
    }

    fn note_written(&self, marks: &[Mark]) {
        let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
        apply_marks(&mut written, marks.iter().copied());
    }

    /// Hands a job's file back to the output under the lock, counting what closing it made
    /// durable, so no snapshot sees a file closed before its records are counted.
    pub fn release(&self, output: &Output, job: Job) -> asb_core::Result<()> {
        let mut parts = self.lock();
        let marks = output.release(job)?;
        apply_marks(&mut parts, marks);
        Ok(())
    }

    /// Partition progress and file accounts of one consistent moment: every record a file
    /// holds up to its committed length is counted in its partition, and no other.
    pub fn snapshot(&self, output: &Output) -> (Vec<PartitionState>, Vec<FileStats>) {
        let parts = self.lock();
        (parts.clone(), output.files())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct CommitPolicy {
    /// Commit at least this often while records come in.
    pub every: Duration,
    /// ...and whenever this much text was written since the last commit.
    pub bytes: u64,
}

impl CommitPolicy {
    /// Commit every `every` and every `bytes` of text, no more often than every 10 ms nor
    /// every 64 KiB (each commit syncs a file, or sends a part to object storage).
    pub fn new(every: Duration, bytes: u64) -> CommitPolicy {
        CommitPolicy {
            every: every.max(Duration::from_millis(10)),
            bytes: bytes.max(1 << 16),
        }
    }
}

struct Sink<'a> {
    output: &'a Output,
    job: &'a mut Job,
    ckpt: &'a Checkpoint,
    policy: CommitPolicy,
    chunk: Vec<u8>,
    chunk_records: u64,
    first: Option<[u8; 20]>,
    last: Option<[u8; 20]>,
    /// Progress of the records in `chunk`, in order of arrival.
    pending: Vec<Mark>,
    last_commit: Instant,
    since_commit: u64,
    /// Records still allowed under --max-records (u64::MAX: no cap).
    quota: u64,
    /// Text handed to the output by this scan.
    text_bytes: u64,
}

impl Sink<'_> {
    fn flush_chunk(&mut self) -> Result<(), WireError> {
        if self.chunk.is_empty() && self.pending.is_empty() {
            return Ok(());
        }
        self.ckpt.note_written(&self.pending);
        self.output
            .append(
                self.job,
                &self.chunk,
                self.chunk_records,
                self.first,
                self.last,
                &mut self.pending,
            )
            .map_err(output_error)?;
        self.ckpt
            .text_bytes
            .fetch_add(self.chunk.len() as u64, Ordering::Relaxed);
        self.since_commit += self.chunk.len() as u64;
        self.text_bytes += self.chunk.len() as u64;
        self.chunk.clear();
        self.chunk_records = 0;
        self.first = None;
        Ok(())
    }

    /// Makes everything handed over durable, then counts it in the partitions, both under
    /// the checkpoint's lock; `done`: partitions read to their end.
    fn commit(&mut self, done: &[u16]) -> Result<(), WireError> {
        // A partition read to its end is done once the text before this point is durable
        // (at once on disk; a remote object's parts may follow later).
        self.pending.extend(done.iter().map(|&pid| Mark {
            pid,
            digest: [0; 20],
            records: 0,
            done: true,
        }));
        self.flush_chunk()?;
        let mut parts = self.ckpt.lock();
        // The marks of everything now durable, whichever job wrote it.
        let (_, marks) = self.output.commit(self.job).map_err(output_error)?;
        apply_marks(&mut parts, marks);
        // Still under the lock: a file closed here ends exactly at this commit.
        let marks = self.output.rotate_if_full(self.job).map_err(output_error)?;
        apply_marks(&mut parts, marks);
        drop(parts);
        self.last_commit = Instant::now();
        self.since_commit = 0;
        Ok(())
    }
}

impl RecordSink for Sink<'_> {
    fn record(&mut self, rec: &Record) -> Result<(), WireError> {
        if self.quota == 0 {
            return Err(WireError::new(
                WireErrorKind::Cancelled,
                "--max-records reached",
            ));
        }
        encode_record(&mut self.chunk, rec, false).map_err(|e| {
            WireError::new(
                WireErrorKind::Data,
                format!("record cannot be written: {e}"),
            )
        })?;
        self.quota = self.quota.saturating_sub(1);
        self.chunk_records += 1;
        if self.first.is_none() {
            self.first = Some(rec.digest);
        }
        self.last = Some(rec.digest);
        let pid = partition_of(&rec.digest);
        // One mark per run of a partition; the last digest of the run wins.
        match self.pending.last_mut() {
            Some(m) if m.pid == pid && !m.done => {
                m.digest = rec.digest;
                m.records += 1;
            }
            _ => self.pending.push(Mark {
                pid,
                digest: rec.digest,
                records: 1,
                done: false,
            }),
        }
        self.ckpt.records.fetch_add(1, Ordering::Relaxed);
        if self.chunk.len() >= CHUNK {
            self.flush_chunk()?;
            if self.since_commit >= self.policy.bytes
                || self.last_commit.elapsed() >= self.policy.every
                || self.output.is_full(self.job)
            {
                self.commit(&[])?;
            }
        }
        Ok(())
    }
}

/// Counts durable text in its partitions (the caller holds the checkpoint's lock).
fn apply_marks(parts: &mut [PartitionState], marks: impl IntoIterator<Item = Mark>) {
    for m in marks {
        let p = &mut parts[m.pid as usize];
        if m.done {
            p.done = true;
        } else {
            p.last = Some(m.digest);
            p.records += m.records;
        }
    }
}

fn output_error(e: asb_core::Error) -> WireError {
    WireError::new(
        WireErrorKind::Output,
        format!("writing the backup failed: {e}"),
    )
}

#[derive(Clone, Debug)]
pub struct ScanJob {
    pub addr: String,
    pub connect: ConnectOptions,
    pub request: ScanRequest,
    pub decode: DecodeOptions,
    pub total_timeout: Option<Duration>,
    pub commit: CommitPolicy,
}

/// A node sends a scan's records in chunks of about 1 MiB (its `QUERY_CHUNK_LIMIT`), and
/// nothing in between: throttled to `rps` records/s, it is silent while it fills one.
const SERVER_CHUNK: u64 = 1 << 20;
/// The smallest record message (header, digest and namespace fields): a chunk holds at
/// most SERVER_CHUNK / this many records.
const SMALLEST_RECORD: u64 = 48;

/// How long a throttled scan may be silent before its node counts as gone: the socket
/// timeout past the time the node may take to fill a chunk at `rps` (0: no timeout).
fn throttled_silence(connect: &ConnectOptions, rps: u32) -> Duration {
    let timeout = connect.socket_timeout;
    if rps == 0 || timeout.is_zero() {
        return timeout;
    }
    timeout + Duration::from_secs(SERVER_CHUNK / SMALLEST_RECORD / rps as u64)
}

/// Scans `job.request`'s partitions on one node into `out`: partitions resume after the
/// last committed digest the checkpoint holds for them. Records received before an error
/// stay written and counted; partitions that reached their end are marked done.
pub fn scan_into(job: &ScanJob, output: &Output, out: &mut Job, ckpt: &Checkpoint) -> ScanOutcome {
    let mut req = job.request.clone();
    for p in &mut req.partitions {
        let state = ckpt.partition(p.pid);
        if state.last.is_some() {
            p.after = state.last;
        }
    }
    req.partitions.retain(|p| !ckpt.partition(p.pid).done);
    if req.partitions.is_empty() {
        return ScanOutcome::default();
    }
    let quota = if req.max_records > 0 {
        req.max_records
    } else {
        u64::MAX
    };
    let mut sink = Sink {
        output,
        job: out,
        ckpt,
        policy: job.commit,
        chunk: Vec::with_capacity(CHUNK + 64 * 1024),
        chunk_records: 0,
        first: None,
        last: None,
        pending: Vec::new(),
        last_commit: Instant::now(),
        since_commit: 0,
        quota,
        text_bytes: 0,
    };
    let connect = ConnectOptions {
        socket_timeout: throttled_silence(&job.connect, req.records_per_second),
        ..job.connect.clone()
    };
    let mut conn = match Connection::open(&job.addr, &connect) {
        Ok(c) => c,
        Err(e) => {
            return ScanOutcome {
                error: Some(e),
                ..ScanOutcome::default()
            }
        }
    };
    let limits = ScanLimits {
        deadline: job.total_timeout.map(|t| Instant::now() + t),
        cancel: Some(&ckpt.cancel),
    };
    let mut outcome = run_scan(&mut conn, &req, job.decode, limits, &mut sink);
    let capped = sink.quota == 0;
    if capped
        && matches!(&outcome.error, Some(e) if e.kind == WireErrorKind::Cancelled && !ckpt.cancel.load(Ordering::Relaxed))
    {
        outcome.error = None;
    }
    // Reached their end: every requested partition the node served, when the stream ended
    // with its last message and no cap cut it short.
    let done: Vec<u16> = if outcome.error.is_none() && !capped {
        req.partitions
            .iter()
            .map(|p| p.pid)
            .filter(|pid| !outcome.unavailable.contains(pid))
            .collect()
    } else {
        Vec::new()
    };
    // An output that already failed keeps its first error (the one that names the cause).
    let output_failed = matches!(&outcome.error, Some(e) if e.kind == WireErrorKind::Output);
    if let Err(e) = sink.commit(&done) {
        if !output_failed {
            outcome.error = Some(e);
        }
    }
    outcome.text_bytes = sink.text_bytes;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_policy_keeps_commits_apart() {
        let p = CommitPolicy::new(Duration::ZERO, 0);
        assert_eq!((p.every, p.bytes), (Duration::from_millis(10), 1 << 16));
        let p = CommitPolicy::new(Duration::from_secs(1), 32 << 20);
        assert_eq!((p.every, p.bytes), (Duration::from_secs(1), 32 << 20));
    }
}

//! A restore: backup files read by `asb-core`, each record written to its partition's master
//! with asrestore's policies, in batches (field 41) or one by one, counted by outcome, with
//! transient failures retried.
//!
//! Which node masters which partition is the caller's business: it publishes the map
//! ([`RouteMap::publish`]) and refreshes it when a retry marks it stale. Readers parse the
//! inputs and fill one pending batch per node; writers send full batches, each on its own
//! connections. The queue between them is bounded (`max_async_batches`), so memory does not
//! grow with the backup.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use asb_core::pace::Pace;
use asb_core::source::{open_path, BoxedReader};
use asb_core::{Entity, Layers, Position, Record, SecondaryIndex, Udf};

use crate::conn::{ConnectOptions, Connection};
use crate::error::{WireError, WireErrorKind};
use crate::proto::partition_of;
use crate::write::{
    batch_message, encode_row, encode_write, now_clepoch, ttl_from_void_time, write_batch,
    write_record, WritePolicy,
};

/// Which node masters each partition, as the caller last published it.
#[derive(Default)]
pub struct RouteMap {
    routes: RwLock<Arc<Routes>>,
    stale: AtomicBool,
    /// Bumped by every publish, so readers take the lock only when the map changed.
    version: AtomicU64,
}

#[derive(Default)]
pub struct Routes {
    /// `host:port` of every node.
    pub nodes: Vec<String>,
    /// Per partition, the index of its master in `nodes` (None: no master now).
    pub masters: Vec<Option<u16>>,
}

impl Routes {
    fn master(&self, pid: u16) -> Option<&str> {
        let i = (*self.masters.get(pid as usize)?)?;
        self.nodes.get(i as usize).map(String::as_str)
    }
}

impl RouteMap {
    pub fn publish(&self, routes: Routes) {
        *self.routes.write().unwrap() = Arc::new(routes);
        self.stale.store(false, Ordering::Release);
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever a map is published.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    pub fn current(&self) -> Arc<Routes> {
        self.routes.read().unwrap().clone()
    }

    /// A write failed as if the map were out of date: the caller should look again.
    pub fn mark_stale(&self) {
        self.stale.store(true, Ordering::Release);
    }

    pub fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }
}

/// How to restore: asrestore's options.
#[derive(Clone, Debug)]
pub struct RestoreConfig {
    /// `-n A`: every record must be in A.
    pub expect_namespace: Option<Vec<u8>>,
    /// `-n A,B`: write A's records into B.
    pub write_namespace: Option<Vec<u8>>,
    pub sets: Option<HashSet<Vec<u8>>>,
    pub bins: Option<HashSet<Vec<u8>>>,
    pub no_records: bool,
    pub no_indexes: bool,
    pub no_udfs: bool,
    pub policy: WritePolicy,
    pub extra_ttl: i64,
    pub batch_writes: bool,
    pub batch_size: usize,
    pub max_async_batches: usize,
    pub readers: usize,
    pub writers: usize,
    pub max_retries: u32,
    pub retry_scale: Duration,
    pub ignore_record_error: bool,
    pub connect: ConnectOptions,
    /// Records per second written, at most (0: no limit).
    pub tps: u64,
    /// Backup bytes per second read, at most (0: no limit).
    pub bandwidth: u64,
    /// Read the records back and compare instead of writing them (`asbkit verify`).
    pub verify: bool,
}

/// Defines the live counters ([`Counters`]), their values at one moment ([`CountsNow`])
/// and the list of them by name, from one list of names.
macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counts; every record read ends in exactly one of the outcome counters.
        #[derive(Default, Debug)]
        pub struct Counters {
            $($(#[$doc])* pub $name: AtomicU64,)*
        }

        /// The counters at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct CountsNow {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            pub fn now(&self) -> CountsNow {
                CountsNow {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                }
            }
        }

        impl CountsNow {
            /// Every counter with its name, in the order declared.
            pub fn named(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }
    };
}

counters! {
    read,
    expired,
    skipped,
    err_ignored,
    inserted,
    updated,
    existed,
    fresher,
    failed,
    retries,
    batches,
    /// `verify`: on the cluster as in the backup, absent, or with other bins.
    same,
    missing,
    different,
    /// Records handed to the writers and not yet settled.
    in_flight,
}

/// An index or UDF met in the inputs, for the caller to apply.
#[derive(Debug)]
pub enum Metadata {
    Index(SecondaryIndex),
    Udf(Udf),
}

/// A record that was not written (or, verifying, not found as in the backup): its digest,
/// set and user key, and why.
#[derive(Clone, Debug)]
pub struct Failure {
    pub digest: [u8; 20],
    pub set: Option<Vec<u8>>,
    /// The user key as `--key` takes it (`S:text`, `I:number`, `B:base64`, `D:double`).
    pub key: Option<String>,
    pub code: Option<u8>,
    pub message: String,
    /// Counted as `err_ignored` (`--ignore-record-error`) rather than failed.
    pub ignored: bool,
}

/// Why a restore stopped before its end.
#[derive(Debug)]
pub enum Fatal {
    /// A file could not be read or parsed (or holds another namespace than `-n` says).
    Input(asb_core::Error),
    /// The cluster refused for good (namespace unknown, server full, forbidden …), or a
    /// record failed and `--ignore-record-error` was not given.
    Wire(WireError),
}

impl Fatal {
    /// A record's failure: the error names the record (digest in base64) and its partition.
    pub fn of_record(e: WireError, digest: [u8; 20]) -> Fatal {
        let mut e = e.in_partition(partition_of(&digest));
        let mut b64 = Vec::new();
        asb_core::b64::encode_append(&digest, &mut b64);
        e.message = format!("record {}: {}", String::from_utf8_lossy(&b64), e.message);
        Fatal::Wire(e)
    }
}

/// Most failures listed by digest; all are counted.
pub const MAX_LISTED_FAILURES: usize = 10_000;

/// What readers, writers and the caller share while a restore runs.
#[derive(Default)]
pub struct Restore {
    pub counters: Counters,
    /// Backup bytes read (before the layers are undone), for progress.
    pub raw_bytes: Arc<AtomicU64>,
    pub routes: RouteMap,
    pub cancel: AtomicBool,
    fatal: Mutex<Option<Fatal>>,
    failures: Mutex<Vec<Failure>>,
    metadata: Mutex<Vec<Metadata>>,
}

impl Restore {
    pub fn new() -> Restore {
        Restore::default()
    }

    fn stopped(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn stop_with(&self, fatal: Fatal) {
        let mut f = self.fatal.lock().unwrap();
        if f.is_none() {
            *f = Some(fatal);
        }
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn take_fatal(&self) -> Option<Fatal> {
        self.fatal.lock().unwrap().take()
    }

    pub fn failures(&self) -> Vec<Failure> {
        self.failures.lock().unwrap().clone()
    }

    /// The record counters now, by name, and `raw_bytes`: backup bytes read so far.
    pub fn progress(&self) -> Vec<(&'static str, u64)> {
        let mut named = self.counters.now().named();
        named.push(("raw_bytes", self.raw_bytes.load(Ordering::Relaxed)));
        named
    }

    /// The indexes and UDFs read since the last call.
    pub fn take_metadata(&self) -> Vec<Metadata> {
        std::mem::take(&mut *self.metadata.lock().unwrap())
    }

    fn note_failure(&self, f: Failure) {
        let mut list = self.failures.lock().unwrap();
        if list.len() < MAX_LISTED_FAILURES {
            list.push(f);
        }
    }
}

/// Records bound for one node, encoded: batch rows (digest first) or whole write messages.
struct Batch {
    addr: String,
    data: Vec<u8>,
    rows: Vec<(usize, usize)>,
    retries: u32,
}

impl Batch {
    fn new(addr: String, capacity: usize) -> Batch {
        Batch {
            addr,
            data: Vec::with_capacity(capacity * 256),
            rows: Vec::with_capacity(capacity),
            retries: 0,
        }
    }

    fn row(&self, i: usize) -> &[u8] {
        let (a, b) = self.rows[i];
        &self.data[a..b]
    }

    fn digest(&self, i: usize, rows: bool) -> [u8; 20] {
        let row = self.row(i);
        if rows {
            return row[..20].try_into().unwrap();
        }
        digest_of_message(row).unwrap_or([0; 20])
    }

    /// The row's set and user key, if it carries them.
    fn set_and_key(&self, i: usize, rows: bool) -> (Option<Vec<u8>>, Option<String>) {
        let row = self.row(i);
        let (mut pos, n_fields) = if rows {
            // digest, flags, info1-3, generation, ttl; then the field and op counts.
            (
                34,
                row.get(30..32)
                    .map_or(0, |n| u16::from_be_bytes([n[0], n[1]])),
            )
        } else {
            match row.get(8..).map(crate::proto::MsgHeader::parse) {
                Some(Ok(h)) => (8 + crate::proto::MSG_HEADER_LEN, h.n_fields),
                _ => return (None, None),
            }
        };
        let (mut set, mut key) = (None, None);
        for _ in 0..n_fields {
            let Ok(f) = crate::proto::read_field(row, &mut pos) else {
                break;
            };
            match f.kind {
                crate::proto::FIELD_SET => set = Some(f.data.to_vec()),
                crate::proto::FIELD_KEY => key = key_text(f.data),
                _ => {}
            }
        }
        (set, key)
    }

    fn failure(
        &self,
        i: usize,
        rows: bool,
        code: Option<u8>,
        message: String,
        ignored: bool,
    ) -> Failure {
        let (set, key) = self.set_and_key(i, rows);
        Failure {
            digest: self.digest(i, rows),
            set,
            key,
            code,
            message,
            ignored,
        }
    }

    fn push_row(&mut self, row: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(row);
        self.rows.push((start, self.data.len()));
    }
}

/// A key field (particle type, value) as `--key` takes it.
fn key_text(data: &[u8]) -> Option<String> {
    let (&ptype, v) = data.split_first()?;
    let be = || v.try_into().ok().map(u64::from_be_bytes);
    Some(match ptype {
        1 => format!("I:{}", be()? as i64),
        2 => format!("D:{}", f64::from_bits(be()?)),
        3 => format!("S:{}", String::from_utf8_lossy(v)),
        4 => {
            let mut b64 = Vec::new();
            asb_core::b64::encode_append(v, &mut b64);
            format!("B:{}", String::from_utf8_lossy(&b64))
        }
        _ => return None,
    })
}

/// The digest field of a single-record write message.
fn digest_of_message(msg: &[u8]) -> Option<[u8; 20]> {
    let h = crate::proto::MsgHeader::parse(msg.get(8..)?).ok()?;
    let mut pos = 8 + crate::proto::MSG_HEADER_LEN;
    for _ in 0..h.n_fields {
        let f = crate::proto::read_field(msg, &mut pos).ok()?;
        if f.kind == crate::proto::FIELD_DIGEST {
            return f.data.try_into().ok();
        }
    }
    None
}

/// `-N MiB/s,TPS`: records written and backup bytes read per second, for the whole
/// restore whatever its readers.
struct Paces {
    tps: Option<Pace>,
    bandwidth: Option<Pace>,
    /// Backup bytes already taken from `bandwidth` (readers share the byte counter).
    paced_bytes: AtomicU64,
}

impl Paces {
    fn after_record(&self, restore: &Restore) {
        let stop = || restore.stopped();
        if let Some(tps) = &self.tps {
            tps.wait(1, stop);
        }
        if let Some(bw) = &self.bandwidth {
            let read = restore.raw_bytes.load(Ordering::Relaxed);
            let before = self.paced_bytes.fetch_max(read, Ordering::Relaxed);
            if read > before {
                bw.wait(read - before, stop);
            }
        }
    }
}

/// A restore running on its own thread: `wait` for it with a timeout.
pub struct Running {
    done: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Running {
    /// Waits up to `timeout`; whether the restore has ended.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (lock, cv) = &*self.done;
        let guard = lock.lock().unwrap();
        let (guard, _) = cv
            .wait_timeout_while(guard, timeout, |done| !*done)
            .unwrap();
        *guard
    }
}

/// A file to restore, whole or a piece of it.
#[derive(Clone, Debug)]
pub struct Input {
    pub path: PathBuf,
    /// `[start, stop)` of a plain file, cut at proven record boundaries
    /// ([`asb_core::parallel::proven_cuts`]): a piece read by a host of its own.
    pub range: Option<(u64, u64)>,
}

impl From<PathBuf> for Input {
    fn from(path: PathBuf) -> Input {
        Input { path, range: None }
    }
}

/// Starts [`run`] on a thread of its own.
pub fn start(
    cfg: RestoreConfig,
    inputs: Vec<Input>,
    layers: Layers,
    restore: Arc<Restore>,
) -> std::io::Result<Running> {
    let done = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let signal = done.clone();
    std::thread::Builder::new()
        .name("restore".into())
        .spawn(move || {
            run(&cfg, inputs, &layers, &restore);
            let (lock, cv) = &*signal;
            *lock.lock().unwrap() = true;
            cv.notify_all();
        })?;
    Ok(Running { done })
}

/// Runs a restore of `inputs` (files, `-` for stdin) to its end, a fatal error, or
/// `restore.cancel`; the outcome is in `restore`.
pub fn run(cfg: &RestoreConfig, inputs: Vec<Input>, layers: &Layers, restore: &Arc<Restore>) {
    let readers = cfg.readers.clamp(1, inputs.len().max(1));
    let queue = Mutex::new(VecDeque::from(inputs));
    let (tx, rx) = sync_channel::<Batch>(cfg.max_async_batches.max(1));
    let rx = Mutex::new(rx);
    let paces = Paces {
        tps: Pace::new(cfg.tps),
        bandwidth: Pace::new(cfg.bandwidth),
        paced_bytes: AtomicU64::new(0),
    };
    std::thread::scope(|s| {
        for _ in 0..cfg.writers.max(1) {
            s.spawn(|| Writer::new(cfg, restore).run(&rx));
        }
        for _ in 0..readers {
            let tx = tx.clone();
            let (queue, paces) = (&queue, &paces);
            s.spawn(move || {
                let mut reader = ReaderTask {
                    cfg,
                    restore,
                    tx,
                    pending: HashMap::new(),
                    scratch: Vec::new(),
                    paces,
                    routes: Arc::default(),
                    routes_version: u64::MAX,
                };
                while let Some(input) = next_input(queue, restore) {
                    if let Err(e) = reader.read_file(&input, layers) {
                        restore.stop_with(Fatal::Input(e));
                        break;
                    }
                }
                reader.flush_all();
            });
        }
        drop(tx);
    });
}

fn next_input(queue: &Mutex<VecDeque<Input>>, restore: &Restore) -> Option<Input> {
    if restore.stopped() {
        return None;
    }
    queue.lock().unwrap().pop_front()
}

struct ReaderTask<'a> {
    cfg: &'a RestoreConfig,
    restore: &'a Restore,
    tx: SyncSender<Batch>,
    pending: HashMap<String, Batch>,
    scratch: Vec<u8>,
    paces: &'a Paces,
    /// The map as of `routes_version`, kept between records.
    routes: Arc<Routes>,
    routes_version: u64,
}

impl ReaderTask<'_> {
    fn read_file(&mut self, input: &Input, layers: &Layers) -> asb_core::Result<()> {
        let Some((start, stop)) = input.range else {
            let mut reader = open_path(&input.path, layers, self.restore.raw_bytes.clone())?;
            return self.read_entities(&mut reader, u64::MAX);
        };
        let mut reader = asb_core::parallel::open_at(&input.path, layers, start)?;
        let result = self.read_entities(&mut reader, stop);
        // A piece's text is counted as it ends (its reader reads ahead of it).
        self.restore.raw_bytes.fetch_add(
            reader.offset().min(stop).saturating_sub(start),
            Ordering::Relaxed,
        );
        result
    }

    /// Restores the entities that start before `stop` (a piece's end; u64::MAX: all).
    fn read_entities(
        &mut self,
        reader: &mut BoxedReader<'static>,
        stop: u64,
    ) -> asb_core::Result<()> {
        let cfg = self.cfg;
        let label = reader.path().unwrap_or("<input>").to_string();
        if let (Some(want), Some(ns)) = (&cfg.expect_namespace, reader.header().namespace()) {
            if ns != want.as_slice() {
                return Err(namespace_error(
                    ns,
                    want,
                    Position {
                        line: 2,
                        column: 1,
                        offset: 0,
                    },
                )
                .with_path(label));
            }
        }
        let mut spare = Record::new();
        let c = &self.restore.counters;
        loop {
            if self.restore.stopped() || reader.offset() >= stop {
                return Ok(());
            }
            let is_record = match reader.next_entity()? {
                None => return Ok(()),
                Some(Entity::Record(_)) => true,
                Some(Entity::SecondaryIndex(s)) => {
                    if !cfg.no_indexes {
                        self.restore
                            .metadata
                            .lock()
                            .unwrap()
                            .push(Metadata::Index(s));
                    }
                    false
                }
                Some(Entity::Udf(u)) => {
                    if !cfg.no_udfs {
                        self.restore.metadata.lock().unwrap().push(Metadata::Udf(u));
                    }
                    false
                }
            };
            if !is_record || cfg.no_records {
                continue;
            }
            c.read.fetch_add(1, Ordering::Relaxed);
            if let Some(want) = &cfg.expect_namespace {
                let ns = reader.record().namespace();
                if ns != want.as_slice() {
                    let at = reader.position_of(reader.offset() - reader.last_entity_len());
                    return Err(namespace_error(ns, want, at).with_path(label));
                }
            }
            let rec: &Record = if let Some(bins) = &cfg.bins {
                reader.swap_record(&mut spare);
                spare.retain_bins(|b| bins.contains(b));
                &spare
            } else {
                reader.record()
            };
            let unwanted_set = cfg
                .sets
                .as_ref()
                .is_some_and(|sets| rec.set().is_none_or(|s| !sets.contains(s)));
            if unwanted_set || rec.bin_count() == 0 {
                c.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(ttl) = ttl_from_void_time(rec.void_time, now_clepoch(), cfg.extra_ttl) else {
                c.expired.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            self.add(rec, ttl);
            self.paces.after_record(self.restore);
        }
    }

    fn add(&mut self, rec: &Record, ttl: u32) {
        let cfg = self.cfg;
        let version = self.restore.routes.version();
        if version != self.routes_version {
            (self.routes, self.routes_version) = (self.restore.routes.current(), version);
        }
        let addr = self.routes.master(partition_of(&rec.digest)).unwrap_or("");
        if !self.pending.contains_key(addr) {
            self.pending.insert(
                addr.to_string(),
                Batch::new(addr.to_string(), cfg.batch_size),
            );
        }
        let batch = self.pending.get_mut(addr).unwrap();
        let start = batch.data.len();
        let ns = cfg.write_namespace.as_deref();
        if cfg.batch_writes || cfg.verify {
            encode_row(
                &mut batch.data,
                &mut self.scratch,
                rec,
                ns,
                ttl,
                &cfg.policy,
            );
        } else {
            batch
                .data
                .extend_from_slice(&encode_write(rec, ns, ttl, &cfg.policy));
        }
        batch.rows.push((start, batch.data.len()));
        self.restore
            .counters
            .in_flight
            .fetch_add(1, Ordering::Relaxed);
        if batch.rows.len() >= cfg.batch_size.max(1) {
            let full = self.pending.remove(addr).unwrap();
            self.send(full);
        }
    }

    fn send(&mut self, batch: Batch) {
        let n = batch.rows.len() as u64;
        if self.tx.send(batch).is_err() {
            // The writers are gone (a fatal error): these records are not written.
            self.restore
                .counters
                .in_flight
                .fetch_sub(n, Ordering::Relaxed);
        }
    }

    fn flush_all(&mut self) {
        let pending: Vec<Batch> = self.pending.drain().map(|(_, b)| b).collect();
        for b in pending {
            if !b.rows.is_empty() {
                self.send(b);
            }
        }
    }
}

fn namespace_error(found: &[u8], want: &[u8], at: Position) -> asb_core::Error {
    asb_core::Error::parse(
        format!(
            "Invalid namespace {}, expected: {} (-n/--namespace names the backup's namespace; -n OLD,NEW writes it into NEW)",
            String::from_utf8_lossy(found),
            String::from_utf8_lossy(want)
        ),
        at,
    )
}

/// How a write's result code is counted (asrestore's classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Written,
    Fresher,
    Existed,
    /// A failure of this record alone: ignored with `--ignore-record-error`, else fatal.
    RecordError,
    /// The cluster will not take it however often asked: the restore stops.
    Permanent,
    Retry,
}

pub fn classify(code: u8) -> Outcome {
    match code {
        0 => Outcome::Written,
        3 => Outcome::Fresher,
        5 => Outcome::Existed,
        10 | 12 | 13 | 17 | 19 | 21 | 22 => Outcome::RecordError,
        4
        | 8
        | 16
        | 20
        | 25
        | 26
        | 27
        | 51..=56
        | 60..=66
        | 70
        | 80..=82
        | 150
        | 160
        | 202
        | 203 => Outcome::Permanent,
        _ => Outcome::Retry,
    }
}

struct Writer<'a> {
    cfg: &'a RestoreConfig,
    restore: &'a Restore,
    conns: HashMap<String, Connection>,
}

/// A whole batch's failure: the rows to try again, or a reason to stop.
enum BatchError {
    Retry(WireError),
    Fatal(WireError),
}

/// A node's answer for one row; `difference` only when verifying.
struct RowAnswer {
    code: u8,
    generation: u32,
    difference: Option<String>,
}

impl<'a> Writer<'a> {
    fn new(cfg: &'a RestoreConfig, restore: &'a Restore) -> Writer<'a> {
        Writer {
            cfg,
            restore,
            conns: HashMap::new(),
        }
    }

    /// Whether batches hold batch rows (digest first) rather than whole messages.
    fn rows(&self) -> bool {
        self.cfg.batch_writes || self.cfg.verify
    }

    /// How a verify counts a row the node answered (None: try again).
    fn settle_verify(&self, b: &Batch, i: usize, a: RowAnswer) -> Option<&'a AtomicU64> {
        let c = &self.restore.counters;
        let digest = b.digest(i, true);
        let note = |message: String| {
            self.restore
                .note_failure(b.failure(i, true, Some(a.code), message, false))
        };
        match (a.code, a.difference) {
            (0, None) => Some(&c.same),
            (0, Some(d)) => {
                note(d);
                Some(&c.different)
            }
            (2, _) => {
                note("missing on the cluster".into());
                Some(&c.missing)
            }
            (code, _) if classify(code) == Outcome::Retry => None,
            (code, _) => {
                self.restore.stop_with(Fatal::of_record(
                    WireError::server(code, "a batch read").at(&b.addr),
                    digest,
                ));
                Some(&c.failed)
            }
        }
    }

    fn run(&mut self, rx: &Mutex<Receiver<Batch>>) {
        loop {
            let next = rx.lock().unwrap().recv();
            let Ok(batch) = next else { return };
            let mut work = VecDeque::from([batch]);
            while let Some(b) = work.pop_front() {
                if self.restore.stopped() {
                    self.restore
                        .counters
                        .in_flight
                        .fetch_sub(b.rows.len() as u64, Ordering::Relaxed);
                    continue;
                }
                if let Some(retry) = self.write(b) {
                    work.extend(self.reroute(retry));
                }
            }
        }
    }

    /// Writes a batch and settles every row it can; the rows to try again, if any.
    fn write(&mut self, b: Batch) -> Option<(Batch, WireError)> {
        let c = &self.restore.counters;
        c.batches.fetch_add(1, Ordering::Relaxed);
        let results = match self.send(&b) {
            Ok(results) => results,
            Err(BatchError::Fatal(e)) => {
                c.in_flight
                    .fetch_sub(b.rows.len() as u64, Ordering::Relaxed);
                self.restore.stop_with(Fatal::Wire(e));
                return None;
            }
            Err(BatchError::Retry(e)) => return Some((b, e)),
        };
        let mut again = Batch::new(b.addr.clone(), b.rows.len());
        again.retries = b.retries;
        let mut last = None;
        for (i, r) in results.into_iter().enumerate() {
            let Some(answer) = r else {
                again.push_row(b.row(i));
                continue;
            };
            if self.cfg.verify {
                let code = answer.code;
                match self.settle_verify(&b, i, answer) {
                    Some(counter) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        c.in_flight.fetch_sub(1, Ordering::Relaxed);
                    }
                    None => {
                        last = Some(WireError::server(code, "a record's read").at(&b.addr));
                        again.push_row(b.row(i));
                    }
                }
                continue;
            }
            let (code, generation) = (answer.code, answer.generation);
            let settled = match classify(code) {
                Outcome::Written if generation <= 1 => &c.inserted,
                Outcome::Written => &c.updated,
                Outcome::Fresher => &c.fresher,
                Outcome::Existed => &c.existed,
                Outcome::Retry => {
                    last = Some(WireError::server(code, "a record's write").at(&b.addr));
                    again.push_row(b.row(i));
                    continue;
                }
                Outcome::RecordError if self.cfg.ignore_record_error => {
                    let e = WireError::server(code, "a record's write");
                    self.restore.note_failure(b.failure(
                        i,
                        self.rows(),
                        Some(code),
                        e.message,
                        true,
                    ));
                    &c.err_ignored
                }
                Outcome::RecordError | Outcome::Permanent => {
                    let hint = if code == 150 {
                        "a record's write (the cluster has batch writes off: use --disable-batch-writes)"
                    } else if classify(code) == Outcome::RecordError {
                        "a record's write (--ignore-record-error counts such records and goes on)"
                    } else {
                        "a record's write"
                    };
                    let e = WireError::server(code, hint).at(&b.addr);
                    c.in_flight.fetch_sub(1, Ordering::Relaxed);
                    self.restore
                        .stop_with(Fatal::of_record(e, b.digest(i, self.rows())));
                    continue;
                }
            };
            settled.fetch_add(1, Ordering::Relaxed);
            c.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if again.rows.is_empty() {
            return None;
        }
        Some((
            again,
            last.unwrap_or_else(|| {
                WireError::protocol("the node did not answer for every record").at(&b.addr)
            }),
        ))
    }

    fn connection(&mut self, addr: &str) -> Result<&mut Connection, WireError> {
        if !self.conns.contains_key(addr) {
            let conn = Connection::open(addr, &self.cfg.connect).map_err(|e| e.at(addr))?;
            self.conns.insert(addr.to_string(), conn);
        }
        Ok(self.conns.get_mut(addr).unwrap())
    }

    /// Each row's (result code, generation), or None for a row the node did not answer.
    #[allow(clippy::type_complexity)]
    fn send(&mut self, b: &Batch) -> Result<Vec<Option<RowAnswer>>, BatchError> {
        if b.addr.is_empty() {
            return Err(BatchError::Retry(WireError::new(
                WireErrorKind::Server(11),
                "partition without a master (the cluster is changing)",
            )));
        }
        let timeout = self.cfg.policy.timeout_ms;
        let cfg = self.cfg;
        let batch_writes = cfg.batch_writes;
        let addr = b.addr.clone();
        let conn = self.connection(&addr).map_err(BatchError::Retry)?;
        let answer = |code, generation| RowAnswer {
            code,
            generation,
            difference: None,
        };
        let outcome = if cfg.verify {
            let rows = (0..b.rows.len()).map(|i| b.row(i));
            let only_listed = cfg.bins.is_some();
            crate::verify::read_message(rows, timeout)
                .and_then(|msg| crate::verify::read_batch(conn, &msg, b.rows.len()))
                .and_then(|answers| {
                    answers
                        .into_iter()
                        .enumerate()
                        .map(|(i, a)| {
                            a.map(|a| {
                                let difference = if a.result_code == 0 {
                                    crate::verify::compare(b.row(i), &a.bins, only_listed)?
                                } else {
                                    None
                                };
                                Ok(RowAnswer {
                                    code: a.result_code,
                                    generation: a.generation,
                                    difference,
                                })
                            })
                            .transpose()
                        })
                        .collect()
                })
        } else if batch_writes {
            let msg = batch_message((0..b.rows.len()).map(|i| b.row(i)), timeout);
            write_batch(conn, &msg, b.rows.len()).map(|rs| {
                rs.into_iter()
                    .map(|r| r.map(|r| answer(r.result_code, r.generation)))
                    .collect()
            })
        } else {
            let mut out = Vec::with_capacity(b.rows.len());
            let mut err = None;
            for i in 0..b.rows.len() {
                if err.is_some() {
                    out.push(None);
                    continue;
                }
                match write_record(conn, b.row(i)) {
                    Ok(r) => out.push(Some(answer(r.result_code, r.generation))),
                    Err(e) => {
                        out.push(None);
                        err = Some(e);
                    }
                }
            }
            match err {
                // Results so far count; the connection is not trusted again.
                Some(e) if !matches!(e.kind, WireErrorKind::Server(_)) => {
                    self.conns.remove(&addr);
                    return Ok(out);
                }
                _ => Ok(out),
            }
        };
        match outcome {
            Ok(results) => Ok(results),
            Err(e) => {
                let e = e.at(&addr);
                match e.kind {
                    WireErrorKind::Server(code) => match classify(code) {
                        Outcome::Permanent => {
                            let e = match code {
                                150 => WireError::server(code, "batch write (the cluster has batch writes off: use --disable-batch-writes)").at(&addr),
                                4 => WireError::server(code, "the node refused the whole batch (records of a namespace it does not have do this; -n OLD,NEW writes them elsewhere)").at(&addr),
                                _ => e,
                            };
                            Err(BatchError::Fatal(e))
                        }
                        _ => Err(BatchError::Retry(e)),
                    },
                    WireErrorKind::Cancelled | WireErrorKind::Output | WireErrorKind::Data => {
                        Err(BatchError::Fatal(e))
                    }
                    _ => {
                        self.conns.remove(&addr);
                        Err(BatchError::Retry(e))
                    }
                }
            }
        }
    }

    /// After a pause, the rows of a failed try, sent to their partitions' masters now; rows
    /// past `--max-retries` count as failed.
    fn reroute(&mut self, (b, err): (Batch, WireError)) -> Vec<Batch> {
        let c = &self.restore.counters;
        let retries = b.retries + 1;
        if retries > self.cfg.max_retries {
            let n = b.rows.len() as u64;
            let code = match err.kind {
                WireErrorKind::Server(code) => Some(code),
                _ => None,
            };
            for i in 0..b.rows.len() {
                self.restore.note_failure(b.failure(
                    i,
                    self.rows(),
                    code,
                    format!("{err} (after {} retries)", self.cfg.max_retries),
                    false,
                ));
            }
            c.failed.fetch_add(n, Ordering::Relaxed);
            c.in_flight.fetch_sub(n, Ordering::Relaxed);
            return Vec::new();
        }
        c.retries.fetch_add(1, Ordering::Relaxed);
        self.restore.routes.mark_stale();
        let pause = self
            .cfg
            .retry_scale
            .saturating_mul(1 << (retries - 1).min(16));
        let until = Instant::now() + pause;
        while Instant::now() < until && !self.restore.stopped() {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
        }
        let routes = self.restore.routes.current();
        let mut by_node: HashMap<String, Batch> = HashMap::new();
        for i in 0..b.rows.len() {
            let digest = b.digest(i, self.rows());
            let addr = routes
                .master(partition_of(&digest))
                .unwrap_or("")
                .to_string();
            let nb = by_node.entry(addr.clone()).or_insert_with(|| {
                let mut nb = Batch::new(addr, b.rows.len());
                nb.retries = retries;
                nb
            });
            nb.push_row(b.row(i));
        }
        by_node.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_fatal_error_names_its_digest_and_partition() {
        let digest = [0xffu8; 20];
        let e = WireError::new(WireErrorKind::Server(22), "refused");
        let Fatal::Wire(e) = Fatal::of_record(e, digest) else {
            panic!("a wire error")
        };
        assert_eq!(e.message, "record //////////////////////////8=: refused");
        assert_eq!(e.partition, Some(partition_of(&digest)));
    }

    #[test]
    fn a_failure_names_the_rows_set_and_user_key() {
        use asb_core::Key;
        let policy = WritePolicy {
            send_key: true,
            ..WritePolicy::default()
        };
        let mut rec = Record::new();
        rec.set_namespace(b"test");
        rec.digest = [7; 20];
        let mut b = Batch::new("n".into(), 4);
        let mut scratch = Vec::new();
        for (set, key) in [
            (Some(&b"s1"[..]), Some(Key::Str(b"user-5"))),
            (None, Some(Key::Int(-3))),
            (Some(b"s2"), None),
            (
                None,
                Some(Key::Bytes {
                    bytes: b"\x00\xff",
                    compact: false,
                }),
            ),
        ] {
            rec.set_set(set);
            rec.set_key(key);
            let start = b.data.len();
            encode_row(&mut b.data, &mut scratch, &rec, None, 0, &policy);
            b.rows.push((start, b.data.len()));
            let start = b.data.len();
            b.data
                .extend_from_slice(&encode_write(&rec, None, 0, &policy));
            b.rows.push((start, b.data.len()));
        }
        let got: Vec<_> = (0..b.rows.len())
            .map(|i| b.failure(i, i % 2 == 0, None, String::new(), false))
            .map(|f| (f.digest, f.set, f.key))
            .collect();
        let want = [
            (Some(b"s1".to_vec()), Some("S:user-5")),
            (None, Some("I:-3")),
            (Some(b"s2".to_vec()), None),
            (None, Some("B:AP8=")),
        ];
        for (i, (digest, set, key)) in got.into_iter().enumerate() {
            assert_eq!(digest, [7; 20]);
            assert_eq!(
                (set, key.as_deref()),
                (want[i / 2].0.clone(), want[i / 2].1),
                "row {i}"
            );
        }
    }

    #[test]
    fn result_codes_fall_into_asrestore_s_classes() {
        assert_eq!(classify(0), Outcome::Written);
        assert_eq!(classify(3), Outcome::Fresher);
        assert_eq!(classify(5), Outcome::Existed);
        for code in [13, 19, 21, 12] {
            assert_eq!(classify(code), Outcome::RecordError, "{code}");
        }
        for code in [8, 20, 150, 80] {
            assert_eq!(classify(code), Outcome::Permanent, "{code}");
        }
        for code in [9, 14, 18, 11, 1, 7] {
            assert_eq!(classify(code), Outcome::Retry, "{code}");
        }
    }

    #[test]
    fn routes_name_each_partition_s_master() {
        let map = RouteMap::default();
        let mut masters = vec![Some(0u16); crate::scan::N_PARTITIONS];
        masters[7] = Some(1);
        masters[8] = None;
        map.publish(Routes {
            nodes: vec!["a:1".into(), "b:2".into()],
            masters,
        });
        let r = map.current();
        assert_eq!(
            (r.master(0), r.master(7), r.master(8)),
            (Some("a:1"), Some("b:2"), None)
        );
        map.mark_stale();
        assert!(map.is_stale());
        let before = map.version();
        map.publish(Routes::default());
        assert!(!map.is_stale());
        assert_ne!(map.version(), before, "readers see that the map changed");
        assert_eq!(map.current().master(0), None);
    }

    #[test]
    fn a_single_write_message_gives_up_its_digest() {
        let mut r = Record::new();
        r.set_namespace(b"bar");
        r.digest = [9; 20];
        r.push_bin(b"a", asb_core::Value::Int(1));
        let msg = encode_write(&r, None, 5, &WritePolicy::default());
        assert_eq!(digest_of_message(&msg), Some([9; 20]));
    }
}

//! Moving entities between `.asb` and JSON Lines, with the filters asrestore knows.

use std::io::{BufRead, Read, Write};

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::error::{Error, Position, Result};
use crate::json::{
    entity_from_json, header_to_json, record_to_json, sindex_to_json, udf_to_json, JsonEntity,
};
use crate::layers::Layers;
use crate::model::{Header, Meta, Record, SecondaryIndex};
use crate::parallel::{Done, PlannedFile};
use crate::read::{Entity, Reader};
use crate::source::BoxedReader;
use crate::write::Writer;

/// What to keep, and how to rename the namespace.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Keep only records of these sets (records without a set are dropped).
    pub sets: Option<Vec<Vec<u8>>>,
    /// Keep only these bins.
    pub bins: Option<Vec<Vec<u8>>>,
    /// Records of namespace `.0` become `.1`; any other namespace is an error.
    pub namespace: Option<(Vec<u8>, Vec<u8>)>,
    /// Stop after this many records (over all inputs).
    pub max_records: Option<u64>,
    /// Drop indexes and UDFs.
    pub no_metadata: bool,
    /// Keep only records with one of these digests (sorted).
    pub digests: Option<Vec<[u8; 20]>>,
    /// Keep only records whose user key is one of these.
    pub keys: Option<Vec<SelectKey>>,
    /// Keep the text of doubles not written in C's `%.17g` form (Go writes shortest forms),
    /// so that they are written back as they were. Costs a few percent of reading speed.
    pub double_text: bool,
}

/// A user key to select records by.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectKey {
    Int(i64),
    Str(Vec<u8>),
    Bytes(Vec<u8>),
}

impl SelectKey {
    fn matches(&self, key: &crate::model::Key<'_>) -> bool {
        use crate::model::Key;
        match (self, key) {
            (SelectKey::Int(a), Key::Int(b)) => a == b,
            (SelectKey::Str(a), Key::Str(b)) => a.as_slice() == *b,
            (SelectKey::Bytes(a), Key::Bytes { bytes, .. }) => a.as_slice() == *bytes,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub skipped: u64,
    pub indexes: u64,
    pub udfs: u64,
}

impl Filter {
    pub fn done(&self, counts: &Counts) -> bool {
        self.max_records.is_some_and(|m| counts.records >= m)
    }

    /// Applies the filter; `false` means the record is left out.
    pub fn apply(&self, rec: &mut Record) -> Result<bool> {
        if let Some(digests) = &self.digests {
            if digests.binary_search(&rec.digest).is_err() {
                return Ok(false);
            }
        }
        if let Some(keys) = &self.keys {
            match rec.key() {
                Some(k) if keys.iter().any(|s| s.matches(&k)) => {}
                _ => return Ok(false),
            }
        }
        if let Some(sets) = &self.sets {
            match rec.set() {
                Some(s) if sets.iter().any(|x| x.as_slice() == s) => {}
                _ => return Ok(false),
            }
        }
        if let Some((from, to)) = &self.namespace {
            if rec.namespace() != from.as_slice() {
                return Err(Error::value(format!(
                    "record of namespace {:?}, expected {:?} (--namespace)",
                    String::from_utf8_lossy(rec.namespace()),
                    String::from_utf8_lossy(from)
                )));
            }
            rec.set_namespace(to);
        }
        if let Some(bins) = &self.bins {
            rec.retain_bins(|name| bins.iter().any(|b| b.as_slice() == name));
        }
        Ok(true)
    }

    /// Indexes follow the namespace rename too, as asrestore applies them.
    pub fn sindex(&self, s: &mut SecondaryIndex) {
        if let Some((from, to)) = &self.namespace {
            if s.namespace == *from {
                s.namespace = to.clone();
            }
        }
    }

    pub fn header(&self, header: &Header) -> Header {
        let mut h = header.clone();
        if let Some((_, to)) = &self.namespace {
            for m in &mut h.meta {
                if let Meta::Namespace(ns) = m {
                    *ns = to.clone();
                }
            }
        }
        h
    }
}

/// An entity on its way from the parser to the JSON encoder.
enum Item {
    Record(Record),
    SecondaryIndex(SecondaryIndex),
    Udf(crate::model::Udf),
}

/// Entities on their way from the parser to the encoder. Items stay in place when a batch
/// comes back: the parser reads the next records into the same records (their buffers
/// already grown), instead of moving records in and out.
#[derive(Default)]
struct Batch {
    items: Vec<Item>,
    filled: usize,
}

/// What [`next_kept`] read: the record itself is in the caller's record.
enum Kept {
    Record,
    SecondaryIndex(SecondaryIndex),
    Udf(crate::model::Udf),
}

/// Reads on to the next entity the filter keeps, starting before `stop`, counting what it
/// keeps and skips. A kept record is swapped into `rec` (the reader reuses `rec`'s buffers);
/// `None` at the end of the stream or at `stop`.
fn next_kept<R: Read>(
    reader: &mut Reader<R>,
    stop: u64,
    filter: &Filter,
    counts: &mut Counts,
    rec: &mut Record,
) -> Result<Option<Kept>> {
    while reader.offset() < stop {
        match reader.next_entity()? {
            None => break,
            Some(Entity::Record(_)) => {
                reader.swap_record(rec);
                if filter.apply(rec).map_err(|e| located(e, reader))? {
                    counts.records += 1;
                    return Ok(Some(Kept::Record));
                }
                counts.skipped += 1;
            }
            Some(Entity::SecondaryIndex(mut s)) if !filter.no_metadata => {
                filter.sindex(&mut s);
                counts.indexes += 1;
                return Ok(Some(Kept::SecondaryIndex(s)));
            }
            Some(Entity::Udf(u)) if !filter.no_metadata => {
                counts.udfs += 1;
                return Ok(Some(Kept::Udf(u)));
            }
            Some(_) => {}
        }
    }
    Ok(None)
}

const BATCH: usize = 512;
/// A batch also goes once its records hold this many bytes: big records do not pile up.
const BATCH_BYTES: usize = 4 << 20;
/// A slot whose record grew past this (a big record went through it) gets a fresh record
/// before it is filled again, so slots do not keep the largest buffer they ever saw.
const SLOT_KEEPS_UP_TO: usize = 16 << 10;

/// Writes one `.asb` stream as JSON Lines (its header first). Parsing and filtering run on
/// this thread, JSON encoding and writing on a second one, in batches whose buffers are
/// handed back and reused.
pub fn asb_to_jsonl<R: Read>(
    reader: &mut Reader<R>,
    file: Option<&str>,
    out: &mut (impl Write + Send),
    filter: &Filter,
    counts: &mut Counts,
    tick: impl FnMut() -> Result<()>,
) -> Result<()> {
    use std::sync::mpsc::sync_channel;
    reader.keep_double_text(filter.double_text);
    reader.keep_b64_text(true);
    let mut head = Vec::new();
    header_to_json(&mut head, &filter.header(reader.header()), file);
    out.write_all(&head)?;
    let (full_tx, full_rx) = sync_channel::<Batch>(4);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(6);
    for _ in 0..6 {
        empty_tx.send(Batch::default()).expect("capacity 6");
    }
    std::thread::scope(|scope| {
        let encoder = scope.spawn(move || -> Result<()> {
            let mut buf = Vec::with_capacity(2 << 20);
            for batch in full_rx {
                for item in &batch.items[..batch.filled] {
                    match item {
                        Item::Record(r) => record_to_json(&mut buf, r),
                        Item::SecondaryIndex(s) => sindex_to_json(&mut buf, s),
                        Item::Udf(u) => udf_to_json(&mut buf, u),
                    }
                }
                if buf.len() >= 1 << 20 {
                    out.write_all(&buf)?;
                    buf.clear();
                }
                // Back to the parser, which reuses the records' buffers.
                if empty_tx.send(batch).is_err() {
                    break;
                }
            }
            out.write_all(&buf)?;
            Ok(())
        });
        let parsed = parse_batches(reader, filter, counts, &full_tx, &empty_rx, tick);
        drop(full_tx);
        let encoded = encoder.join().expect("the encoder does not panic");
        parsed.and(encoded)
    })
}

/// Writes plain `.asb` files as JSON Lines (each file's header first), converting files and
/// pieces of big files on `threads` threads ([`crate::parallel`]); the output is that of
/// [`asb_to_jsonl`] on each file in turn. Not with `max_records` (it needs the count of
/// every record before).
#[allow(clippy::too_many_arguments)]
pub fn asb_files_to_jsonl(
    files: &[PlannedFile],
    layers: &Layers,
    threads: usize,
    raw_count: &Arc<AtomicU64>,
    out: &mut impl Write,
    filter: &Filter,
    counts: &mut Counts,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<()> {
    assert!(
        filter.max_records.is_none(),
        "max_records needs asb_to_jsonl"
    );
    // Output buffers go back and forth: fresh ones would cost page faults for every piece.
    let buffers = std::sync::Mutex::new(Vec::<Vec<u8>>::new());
    let work = |reader: &mut BoxedReader<'static>, stop: u64, first: bool| {
        reader.keep_double_text(filter.double_text);
        reader.keep_b64_text(true);
        let buf = buffers
            .lock()
            .expect("not poisoned")
            .pop()
            .unwrap_or_default();
        let mut piece = (buf, Counts::default());
        let (buf, counts) = &mut piece;
        if first {
            let name = reader.path().map(file_name);
            header_to_json(buf, &filter.header(reader.header()), name.as_deref());
        }
        let mut rec = Record::new();
        let converted = (|| {
            while let Some(kept) = next_kept(reader, stop, filter, counts, &mut rec)? {
                match kept {
                    Kept::Record => record_to_json(buf, &rec),
                    Kept::SecondaryIndex(s) => sindex_to_json(buf, &s),
                    Kept::Udf(u) => udf_to_json(buf, &u),
                }
            }
            Ok(())
        })();
        (piece, converted)
    };
    let consume = |done: Done<(Vec<u8>, Counts)>| -> Result<()> {
        let (mut buf, c) = done.value;
        out.write_all(&buf)?;
        buf.clear();
        buffers.lock().expect("not poisoned").push(buf);
        counts.records += c.records;
        counts.skipped += c.skipped;
        counts.indexes += c.indexes;
        counts.udfs += c.udfs;
        match done.error {
            Some(e) => Err(e),
            None => tick(),
        }
    };
    crate::parallel::run(files, layers, threads, raw_count, work, consume).map(|_| ())
}

/// The last component of a path, as JSON headers record it.
pub fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or(path.to_string(), |f| f.to_string_lossy().into_owned())
}

/// Fills batches from the reader (reusing the records of returned batches) and sends them.
fn parse_batches<R: Read>(
    reader: &mut Reader<R>,
    filter: &Filter,
    counts: &mut Counts,
    full: &std::sync::mpsc::SyncSender<Batch>,
    empty: &std::sync::mpsc::Receiver<Batch>,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<()> {
    let Ok(mut batch) = empty.recv() else {
        return Ok(());
    };
    batch.filled = 0;
    let mut batch_bytes = 0;
    loop {
        if filter.done(counts) {
            break;
        }
        if batch.filled == batch.items.len() {
            batch.items.push(Item::Record(Record::new()));
        }
        let slot = &mut batch.items[batch.filled];
        match slot {
            Item::Record(r) if r.buffer_capacity() <= SLOT_KEEPS_UP_TO => {}
            _ => *slot = Item::Record(Record::new()),
        }
        let Item::Record(rec) = slot else {
            unreachable!("made a record above")
        };
        match next_kept(reader, u64::MAX, filter, counts, rec)? {
            None => break,
            Some(Kept::Record) => batch_bytes += rec.buffer_len(),
            Some(Kept::SecondaryIndex(s)) => *slot = Item::SecondaryIndex(s),
            Some(Kept::Udf(u)) => *slot = Item::Udf(u),
        }
        batch.filled += 1;
        if batch.filled == BATCH || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            tick()?;
            if full.send(batch).is_err() {
                return Ok(()); // the encoder stopped: its error is reported
            }
            let Ok(next) = empty.recv() else {
                return Ok(());
            };
            batch = next;
            batch.filled = 0;
        }
    }
    if batch.filled > 0 {
        let _ = full.send(batch);
    }
    tick()
}

fn located<R: Read>(e: Error, reader: &Reader<R>) -> Error {
    match reader.path() {
        Some(p) => e.with_path(p),
        None => e,
    }
}

/// Reads JSON Lines (one header, then entities) and writes one `.asb` stream to what
/// `open` returns for the header. A second header is an error: one output, one file.
pub fn jsonl_to_asb<W: Write>(
    input: impl BufRead,
    label: &str,
    open: impl FnOnce(&Header) -> Result<W>,
    filter: &Filter,
    counts: &mut Counts,
) -> Result<W> {
    let mut open = Some(open);
    let mut outputs = jsonl_to_asb_files(
        input,
        label,
        |n, header, _| {
            match open.take() {
            Some(open) if n == 0 => open(header),
            _ => Err(Error::value(
                "a second header: this JSON holds several backup files; convert it into a directory",
            )),
        }
        },
        Ok,
        filter,
        counts,
    )?;
    Ok(outputs.pop().expect("one output"))
}

/// As [`jsonl_to_asb`], one output per header: `open(n, header, file)` gets the `file` name
/// the header carries, if any; `finish` ends each output.
pub fn jsonl_to_asb_files<W: Write, T>(
    mut input: impl BufRead,
    label: &str,
    mut open: impl FnMut(usize, &Header, Option<&str>) -> Result<W>,
    mut finish: impl FnMut(W) -> Result<T>,
    filter: &Filter,
    counts: &mut Counts,
) -> Result<Vec<T>> {
    let mut done = Vec::new();
    let mut writer: Option<Writer<W>> = None;
    let mut rec = Record::new();
    let mut offset = 0u64;
    // One buffer for every line (a line each time would cost an allocation and a copy).
    let mut line = Vec::new();
    for n in 0.. {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::from(e).with_path(label))?
            == 0
        {
            break;
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let at = Position {
            line: n as u64 + 1,
            column: 1,
            offset,
        };
        offset += line.len() as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let entity = entity_from_json(&line, &mut rec).map_err(|e| {
            Error {
                position: Some(at),
                ..e
            }
            .with_path(label)
        })?;
        let located = |e: Error| {
            Error {
                position: Some(at),
                ..e
            }
            .with_path(label)
        };
        match entity {
            JsonEntity::Header { header, file } => {
                if let Some(w) = writer.take() {
                    done.push(finish(w.into_inner()?)?);
                }
                let header = filter.header(&header);
                let out = open(done.len(), &header, file.as_deref()).map_err(located)?;
                writer = Some(Writer::new(out, &header).map_err(located)?);
            }
            other => {
                let Some(w) = writer.as_mut() else {
                    return Err(located(Error::value("the first line must be the header")));
                };
                match other {
                    JsonEntity::Record => {
                        if filter.done(counts) {
                            break;
                        }
                        if filter.apply(&mut rec).map_err(located)? {
                            w.write_record(&rec).map_err(located)?;
                            counts.records += 1;
                        } else {
                            counts.skipped += 1;
                        }
                    }
                    JsonEntity::SecondaryIndex(mut s) if !filter.no_metadata => {
                        filter.sindex(&mut s);
                        w.write_sindex(&s).map_err(located)?;
                        counts.indexes += 1;
                    }
                    JsonEntity::Udf(u) if !filter.no_metadata => {
                        w.write_udf(&u).map_err(located)?;
                        counts.udfs += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    match writer {
        Some(w) => done.push(finish(w.into_inner()?)?),
        None => {
            return Err(
                Error::value("no header line: not an asbkit JSON Lines backup").with_path(label),
            )
        }
    }
    Ok(done)
}

/// Where `asb_to_asb` starts a new output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// One output.
    None,
    /// A new file after this many records.
    Records(u64),
    /// A new file once this many bytes of text were written.
    TextBytes(u64),
}

impl Split {
    /// `split` by records when given, else by text bytes, else none; at least 1 of either
    /// per file.
    pub fn new(records: Option<u64>, text_bytes: Option<u64>) -> Split {
        match (records, text_bytes) {
            (Some(n), _) => Split::Records(n.max(1)),
            (None, Some(b)) => Split::TextBytes(b.max(1)),
            (None, None) => Split::None,
        }
    }
}

/// Copies `.asb` streams through the filter into one or more `.asb` outputs. `open(n, header)`
/// makes output `n` (0-based); every output gets the header of the input it starts in, with
/// `first-file` only on the first. Outputs are returned as `finish` made them.
pub fn asb_to_asb<R: Read, W: Write, T>(
    readers: impl IntoIterator<Item = Result<Reader<R>>>,
    mut open: impl FnMut(usize, &Header) -> Result<W>,
    mut finish: impl FnMut(W) -> Result<T>,
    filter: &Filter,
    split: Split,
    counts: &mut Counts,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<Vec<T>> {
    let mut done = Vec::new();
    let mut current: Option<(Writer<W>, u64)> = None;
    let mut header_now: Option<Header> = None;
    let mut rec = Record::new();
    let mut files = 0usize;
    let mut next_tick = 4096;
    for reader in readers {
        let mut reader = reader?;
        reader.keep_double_text(filter.double_text);
        reader.keep_b64_text(true);
        header_now = Some(filter.header(reader.header()));
        while !filter.done(counts) {
            // Parts are cut before a kept record: skipped ones never open a part.
            let Some(kept) = next_kept(&mut reader, u64::MAX, filter, counts, &mut rec)? else {
                break;
            };
            let full = match (&current, split) {
                (Some((_, n)), Split::Records(max)) => *n >= max,
                (Some((w, _)), Split::TextBytes(max)) => w.text_bytes() >= max,
                _ => false,
            };
            if current.is_none() || (full && matches!(kept, Kept::Record)) {
                if let Some((w, _)) = current.take() {
                    done.push(finish(w.into_inner()?)?);
                }
                let mut header = header_now.clone().expect("set above");
                if files > 0 {
                    header.meta.retain(|m| !matches!(m, Meta::FirstFile));
                }
                let out = open(files, &header)?;
                files += 1;
                current = Some((Writer::new(out, &header)?, 0));
            }
            let (w, n) = current.as_mut().expect("opened above");
            match kept {
                Kept::Record => {
                    w.write_record(&rec)?;
                    *n += 1;
                }
                Kept::SecondaryIndex(s) => w.write_sindex(&s)?,
                Kept::Udf(u) => w.write_udf(&u)?,
            }
            let seen = counts.records + counts.skipped;
            if seen >= next_tick {
                tick()?;
                next_tick = seen + 4096;
            }
        }
    }
    tick()?;
    match current {
        Some((w, _)) => done.push(finish(w.into_inner()?)?),
        None => {
            // No entity at all: still one output holding the header.
            if let Some(header) = header_now {
                let out = open(0, &header)?;
                done.push(finish(Writer::new(out, &header)?.into_inner()?)?);
            }
        }
    }
    Ok(done)
}

/// An input of a conversion: a path (`-`: stdin), opened here, or a stream already opened.
pub enum Input {
    Path(std::path::PathBuf),
    Reader(Box<BoxedReader<'static>>),
}

/// Text per piece when converting big plain files: small enough that the JSON of the pieces
/// in flight stays a few tens of MB.
pub const CONVERT_PIECE_SIZE: u64 = 4 << 20;

/// Converts every input, in order, to JSON Lines in `out`. Plain files are converted in
/// pieces on `threads` threads when that pays off: two threads (parse | encode) already
/// keep two cores busy with less memory traffic than pieces whose JSON waits its turn, so
/// pieces from three cores on, and not with `max_records` (it needs every count before).
#[allow(clippy::too_many_arguments)]
pub fn inputs_to_jsonl(
    inputs: Vec<Input>,
    layers: &Layers,
    threads: usize,
    piece_size: u64,
    raw_count: &Arc<AtomicU64>,
    out: &mut (impl Write + Send),
    filter: &Filter,
    mut tick: impl FnMut() -> Result<()>,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let paths: Option<Vec<std::path::PathBuf>> = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) if p.as_os_str() != "-" => Some(p.clone()),
            _ => None,
        })
        .collect();
    let in_pieces = layers.is_plain() && filter.max_records.is_none() && threads > 2;
    if let Some(paths) = paths.filter(|_| in_pieces) {
        let planned = crate::parallel::plan(&paths, layers, piece_size)?;
        asb_files_to_jsonl(
            &planned,
            layers,
            threads,
            raw_count,
            out,
            filter,
            &mut counts,
            &mut tick,
        )?;
        out.flush()?;
        return Ok(counts);
    }
    for input in inputs {
        if filter.done(&counts) {
            break;
        }
        let mut reader = match input {
            Input::Path(p) => crate::source::open_path(&p, layers, raw_count.clone())?,
            Input::Reader(r) => *r,
        };
        let file = reader.path().map(file_name);
        asb_to_jsonl(
            &mut reader,
            file.as_deref(),
            out,
            filter,
            &mut counts,
            &mut tick,
        )?;
    }
    out.flush()?;
    Ok(counts)
}

/// JSON Lines holding one backup file into `.asb` in `out`, through `layers`.
pub fn jsonl_to_asb_stream(
    input: impl BufRead,
    label: &str,
    out: impl Write,
    layers: &Layers,
    filter: &Filter,
) -> Result<Counts> {
    let mut counts = Counts::default();
    let layered = jsonl_to_asb(
        input,
        label,
        |_| crate::layers::LayeredWriter::new(out, layers),
        filter,
        &mut counts,
    )?;
    layered.finish()?;
    Ok(counts)
}

/// JSON Lines holding any number of backup files into the directory `dir`: one file per
/// header, under the name it records (else `<namespace>_<NNNNN>.asb`), written under
/// temporary names and renamed only when all are complete. The counts, and the files.
pub fn jsonl_to_asb_dir(
    input: impl BufRead,
    label: &str,
    dir: &std::path::Path,
    layers: &Layers,
    filter: &Filter,
) -> Result<(Counts, Vec<std::path::PathBuf>)> {
    let mut counts = Counts::default();
    let mut staged = crate::source::StagedFiles::default();
    jsonl_to_asb_files(
        input,
        label,
        |n, header, file| {
            let name = file
                .and_then(|f| std::path::Path::new(f).file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| numbered_name(&default_stem(header), n));
            let file = staged.create(dir.join(&name))?;
            crate::layers::LayeredWriter::new(
                std::io::BufWriter::with_capacity(crate::source::OUTPUT_BUFFER, file),
                layers,
            )
        },
        |w| w.finish().map(drop),
        filter,
        &mut counts,
    )?;
    Ok((counts, staged.commit()?))
}

/// Where a copy through the filters goes: `-` (stdout), one file (replaced only when the
/// copy is complete), or with a split, files `<prefix>_<NNNNN>.asb` in a directory.
#[allow(clippy::too_many_arguments)]
pub fn copy_to(
    readers: Vec<BoxedReader<'static>>,
    dest: &std::path::Path,
    prefix: Option<&str>,
    split: Split,
    layers: &Layers,
    filter: &Filter,
    tick: impl FnMut() -> Result<()>,
) -> Result<(Counts, Vec<std::path::PathBuf>)> {
    // A copy keeps doubles as they were written.
    let filter = &Filter {
        double_text: true,
        ..filter.clone()
    };
    let to_stdout = dest.as_os_str() == "-";
    if to_stdout && split != Split::None {
        return Err(Error::value(
            "a split writes several files: give a directory, not -",
        ));
    }
    let mut counts = Counts::default();
    let mut staged = crate::source::StagedFiles::default();
    asb_to_asb(
        readers.into_iter().map(Ok),
        |n, header| {
            let out: Box<dyn Write + Send> = if to_stdout {
                crate::source::create_output(dest)?
            } else {
                let file = if split == Split::None {
                    staged.replace(dest.to_path_buf())?
                } else {
                    let stem = prefix.map_or_else(|| default_stem(header), str::to_string);
                    staged.create(dest.join(numbered_name(&stem, n)))?
                };
                Box::new(std::io::BufWriter::with_capacity(
                    crate::source::OUTPUT_BUFFER,
                    file,
                ))
            };
            crate::layers::LayeredWriter::new(out, layers)
        },
        |w| w.finish().map(drop),
        filter,
        split,
        &mut counts,
        tick,
    )?;
    Ok((counts, staged.commit()?))
}

/// A backup file's name as asbackup makes it: `<stem>_<NNNNN>.asb`.
pub fn numbered_name(stem: &str, n: usize) -> String {
    format!("{stem}_{n:05}.asb")
}

fn default_stem(header: &Header) -> String {
    String::from_utf8_lossy(header.namespace().unwrap_or(b"backup")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_by_records_first_and_never_of_zero() {
        assert_eq!(Split::new(Some(10), Some(5)), Split::Records(10));
        assert_eq!(Split::new(Some(0), None), Split::Records(1));
        assert_eq!(Split::new(None, Some(0)), Split::TextBytes(1));
        assert_eq!(Split::new(None, None), Split::None);
    }
}

//! Binding of `asb_wire::restore`: the restore runs on its own threads with the GIL free;
//! Python publishes the partition map, drains indexes and UDFs, and reads the counters.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asb_core::{Entity, Layers};
use asb_wire::restore::{Fatal, Input, Metadata, Restore, RestoreConfig, Routes, Running};
use asb_wire::write::WritePolicy;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{value, Error, Result};
use crate::files::LayerArgs;
use crate::types::{entity_to_py, Text};
use crate::wire::Access;

impl From<Fatal> for Error {
    fn from(f: Fatal) -> Error {
        match f {
            Fatal::Input(e) => e.into(),
            Fatal::Wire(e) => e.into(),
        }
    }
}

/// A restore's settings: `asbkit.restoring.driver.RestoreSettings` (asrestore's options, as
/// the restore layer resolved them).
#[derive(FromPyObject)]
pub(crate) struct RestoreSettings {
    layers: LayerArgs,
    expect_namespace: Option<Text>,
    write_namespace: Option<Text>,
    sets: Option<Vec<Text>>,
    bins: Option<Vec<Text>>,
    no_records: bool,
    no_indexes: bool,
    no_udfs: bool,
    unique: bool,
    replace: bool,
    no_generation: bool,
    extra_ttl: i64,
    batch_writes: bool,
    batch_size: usize,
    max_async_batches: usize,
    readers: usize,
    writers: usize,
    max_retries: u32,
    /// A `datetime.timedelta`.
    retry_scale: Duration,
    ignore_record_error: bool,
    total_timeout_ms: u32,
    tps: u64,
    bandwidth: u64,
    verify: bool,
}

fn name_set(items: Option<Vec<Text>>) -> Option<HashSet<Vec<u8>>> {
    items.map(|v| v.into_iter().map(|t| t.0).collect())
}

/// One restore (or, with `verify`, a read-back comparison): configured in full when made,
/// started once.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct RestoreRun {
    shared: Arc<Restore>,
    setup: Mutex<Option<(RestoreConfig, Vec<Input>, Layers)>>,
    running: Mutex<Option<Running>>,
}

#[pymethods]
impl RestoreRun {
    /// `ranges`: per input, the byte range to read (None: all of it).
    #[new]
    fn new(
        inputs: Vec<PathBuf>,
        ranges: Vec<Option<(u64, u64)>>,
        settings: RestoreSettings,
        access: Access,
    ) -> Result<RestoreRun> {
        if ranges.len() != inputs.len() {
            return Err(value("one range (or None) for each input"));
        }
        let inputs: Vec<Input> = inputs
            .into_iter()
            .zip(ranges)
            .map(|(path, range)| Input { path, range })
            .collect();
        let s = settings;
        let policy = WritePolicy::from_asrestore_flags(
            s.unique,
            s.replace,
            s.no_generation,
            s.total_timeout_ms,
        )
        .map_err(value)?;
        let cfg = RestoreConfig {
            expect_namespace: s.expect_namespace.map(|t| t.0),
            write_namespace: s.write_namespace.map(|t| t.0),
            sets: name_set(s.sets),
            bins: name_set(s.bins),
            no_records: s.no_records,
            no_indexes: s.no_indexes,
            no_udfs: s.no_udfs,
            policy,
            extra_ttl: s.extra_ttl,
            batch_writes: s.batch_writes,
            batch_size: s.batch_size,
            max_async_batches: s.max_async_batches,
            readers: s.readers,
            writers: s.writers,
            max_retries: s.max_retries,
            retry_scale: s.retry_scale,
            ignore_record_error: s.ignore_record_error,
            connect: access.connect_options(),
            tps: s.tps,
            bandwidth: s.bandwidth,
            verify: s.verify,
        };
        let layers = s.layers.into_layers()?;
        Ok(RestoreRun {
            shared: Arc::new(Restore::new()),
            setup: Mutex::new(Some((cfg, inputs, layers))),
            running: Mutex::new(None),
        })
    }

    /// Starts reading and writing (publish the partition map first).
    fn start(&self) -> Result<()> {
        let (cfg, inputs, layers) = self
            .setup
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| value("this restore was started already"))?;
        *self.running.lock().unwrap() = Some(asb_wire::restore::start(
            cfg,
            inputs,
            layers,
            self.shared.clone(),
        )?);
        Ok(())
    }

    /// The partition map: node addresses, and per partition the index of its master.
    fn publish_routes(&self, nodes: Vec<String>, masters: Vec<Option<u16>>) -> Result<()> {
        if masters.len() != asb_wire::scan::N_PARTITIONS {
            return Err(value("a map of 4096 partitions"));
        }
        if let Some(bad) = masters
            .iter()
            .flatten()
            .find(|&&i| i as usize >= nodes.len())
        {
            return Err(value(format!("node index {bad} of {} nodes", nodes.len())));
        }
        self.shared.routes.publish(Routes { nodes, masters });
        Ok(())
    }

    /// A write failed as if the map were out of date.
    fn routes_stale(&self) -> bool {
        self.shared.routes.is_stale()
    }

    /// The record counters now, by name (`asbkit.RestoreCounters`' fields).
    fn counters(&self) -> Vec<(&'static str, u64)> {
        self.shared.progress()
    }

    /// The indexes and UDFs read since the last call, as Python objects.
    fn take_metadata(&self, py: Python<'_>) -> PyResult<Vec<PyObject>> {
        self.shared
            .take_metadata()
            .into_iter()
            .map(|m| match m {
                Metadata::Index(s) => entity_to_py(py, Entity::SecondaryIndex(s)),
                Metadata::Udf(u) => entity_to_py(py, Entity::Udf(u)),
            })
            .collect()
    }

    /// Waits up to `timeout` seconds; whether the restore has ended (true before a start).
    fn wait(&self, py: Python<'_>, timeout: f64) -> bool {
        let timeout = Duration::from_secs_f64(timeout.max(0.0));
        py.allow_threads(|| {
            self.running
                .lock()
                .unwrap()
                .as_ref()
                .is_none_or(|r| r.wait(timeout))
        })
    }

    /// Asks readers and writers to stop (records in flight are not counted as written).
    fn cancel(&self) {
        self.shared.cancel.store(true, Ordering::Relaxed);
    }

    /// Why the restore stopped early, as the exception to raise (None: it did not).
    fn fatal(&self, py: Python<'_>) -> Option<PyObject> {
        let err: PyErr = Error::from(self.shared.take_fatal()?).into();
        Some(err.into_value(py).into_any())
    }

    /// Records not written (or ignored), the first of them.
    fn failures(&self, py: Python<'_>) -> PyResult<Vec<Py<RecordFailure>>> {
        self.shared
            .failures()
            .into_iter()
            .map(|f| {
                let failure = RecordFailure {
                    digest: PyBytes::new(py, &f.digest).unbind(),
                    set: f.set.map(|s| String::from_utf8_lossy(&s).into_owned()),
                    key: f.key,
                    result_code: f.code,
                    message: f.message,
                    ignored: f.ignored,
                };
                Py::new(py, failure)
            })
            .collect()
    }
}

/// A record not written (or, with `ignored`, counted as err_ignored).
#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct RecordFailure {
    digest: Py<PyBytes>,
    set: Option<String>,
    /// The user key as `--key` takes it (`S:text`, `I:number`, `B:base64`, `D:double`).
    key: Option<String>,
    result_code: Option<u8>,
    message: String,
    ignored: bool,
}

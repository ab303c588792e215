//! Binding of `asb_wire::restore`: the restore runs on its own threads with the GIL free;
//! Python publishes the partition map, drains indexes and UDFs, and reads the counters.

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
use crate::files::layers;
use crate::types::{entity_to_py, text_bytes};
use crate::wire::{connect_options, Peer, TlsConfig};

impl From<Fatal> for Error {
    fn from(f: Fatal) -> Error {
        match f {
            Fatal::Input(e) => e.into(),
            Fatal::Wire(mut e, digest) => {
                if let Some(d) = digest {
                    let mut b64 = Vec::new();
                    asb_core::b64::encode_append(&d, &mut b64);
                    e.message = format!("record {}: {}", String::from_utf8_lossy(&b64), e.message);
                }
                e.into()
            }
        }
    }
}

/// One restore (or, with `verify`, a read-back comparison): configured in full when made,
/// started once.
#[pyclass(module = "asbkit._codec", frozen)]
pub struct RestoreRun {
    shared: Arc<Restore>,
    setup: Mutex<Option<(RestoreConfig, Vec<Input>, Layers)>>,
    running: Mutex<Option<Running>>,
}

fn name_set(
    items: Option<Vec<Bound<'_, PyAny>>>,
) -> PyResult<Option<std::collections::HashSet<Vec<u8>>>> {
    items
        .map(|v| v.iter().map(text_bytes).collect())
        .transpose()
}

#[pymethods]
impl RestoreRun {
    #[new]
    #[pyo3(signature = (inputs, *, zstd=false, cipher=None, key_material=None, expect_namespace=None, write_namespace=None, sets=None, bins=None, no_records=false, no_indexes=false, no_udfs=false, unique=false, replace=false, no_generation=false, extra_ttl=0, batch_writes=true, batch_size=128, max_async_batches=32, readers=2, writers=8, max_retries=5, retry_scale_ms=150.0, ignore_record_error=false, socket_timeout_ms=10_000, total_timeout_ms=10_000, connect_timeout_ms=10_000, tps=0, bandwidth=0, user=None, credential=None, clear_password=None, tls=None, tls_name=None, verify=false, ranges=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        inputs: Vec<PathBuf>,
        zstd: bool,
        cipher: Option<&str>,
        key_material: Option<Vec<u8>>,
        expect_namespace: Option<&Bound<'_, PyAny>>,
        write_namespace: Option<&Bound<'_, PyAny>>,
        sets: Option<Vec<Bound<'_, PyAny>>>,
        bins: Option<Vec<Bound<'_, PyAny>>>,
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
        retry_scale_ms: f64,
        ignore_record_error: bool,
        socket_timeout_ms: u64,
        total_timeout_ms: u32,
        connect_timeout_ms: u64,
        tps: u64,
        bandwidth: u64,
        user: Option<String>,
        credential: Option<String>,
        clear_password: Option<String>,
        tls: Option<PyRef<'_, TlsConfig>>,
        tls_name: Option<String>,
        verify: bool,
        ranges: Option<Vec<Option<(u64, u64)>>>,
    ) -> Result<RestoreRun> {
        let ranges = ranges.unwrap_or_else(|| vec![None; inputs.len()]);
        if ranges.len() != inputs.len() {
            return Err(value("one range (or None) for each input"));
        }
        let inputs: Vec<Input> = inputs
            .into_iter()
            .zip(ranges)
            .map(|(path, range)| Input { path, range })
            .collect();
        let policy =
            WritePolicy::from_asrestore_flags(unique, replace, no_generation, total_timeout_ms)
                .map_err(value)?;
        let peer = Peer {
            connect_timeout_ms,
            socket_timeout_ms,
            user,
            credential,
            clear_password,
            tls: tls.as_deref(),
            tls_name: tls_name.clone(),
        };
        let cfg = RestoreConfig {
            expect_namespace: expect_namespace.map(text_bytes).transpose()?,
            write_namespace: write_namespace.map(text_bytes).transpose()?,
            sets: name_set(sets)?,
            bins: name_set(bins)?,
            no_records,
            no_indexes,
            no_udfs,
            policy,
            extra_ttl,
            batch_writes,
            batch_size: batch_size.max(1),
            max_async_batches,
            readers,
            writers,
            max_retries,
            retry_scale: Duration::from_secs_f64(retry_scale_ms.max(0.0) / 1000.0),
            ignore_record_error,
            connect: connect_options(tls_name.as_deref().unwrap_or("localhost:0"), peer),
            tps,
            bandwidth,
            verify,
            ceiling_node: None,
        };
        let layers = layers(zstd, 0, cipher, key_material.as_deref())?;
        Ok(RestoreRun {
            shared: Arc::new(Restore::new()),
            setup: Mutex::new(Some((cfg, inputs, layers))),
            running: Mutex::new(None),
        })
    }

    /// The intake ceiling of one node at `addr`: the inputs encoded first, then only sent
    /// (records, seconds sending). For benchmarks.
    fn intake_ceiling(&self, py: Python<'_>, addr: String) -> Result<(u64, f64)> {
        let (mut cfg, inputs, layers) = self
            .setup
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| value("this restore was started already"))?;
        cfg.ceiling_node = Some(addr);
        let paths: Vec<PathBuf> = inputs.into_iter().map(|i| i.path).collect();
        let (n, d) =
            py.allow_threads(|| asb_wire::restore::intake_ceiling(&cfg, &paths, &layers))?;
        Ok((n, d.as_secs_f64()))
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

    /// The record counters now.
    fn counters(&self) -> RestoreCounters {
        let now = self.shared.counters.now();
        RestoreCounters {
            read: now.read,
            expired: now.expired,
            skipped: now.skipped,
            err_ignored: now.err_ignored,
            inserted: now.inserted,
            updated: now.updated,
            existed: now.existed,
            fresher: now.fresher,
            failed: now.failed,
            retries: now.retries,
            batches: now.batches,
            same: now.same,
            missing: now.missing,
            different: now.different,
            in_flight: now.in_flight,
            raw_bytes: self.shared.raw_bytes.load(Ordering::Relaxed),
        }
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

/// A restore's (or verify's) record counters at one moment: records read, and by outcome.
#[pyclass(frozen, get_all, module = "asbkit._codec")]
pub(crate) struct RestoreCounters {
    read: u64,
    expired: u64,
    skipped: u64,
    err_ignored: u64,
    inserted: u64,
    updated: u64,
    existed: u64,
    fresher: u64,
    failed: u64,
    retries: u64,
    batches: u64,
    same: u64,
    missing: u64,
    different: u64,
    in_flight: u64,
    /// Backup bytes read (before the layers were taken off).
    raw_bytes: u64,
}

#[pymethods]
impl RestoreCounters {
    /// Counters as given (a progress event of one's own, in a test).
    #[new]
    #[pyo3(signature = (*, read=0, expired=0, skipped=0, err_ignored=0, inserted=0, updated=0, existed=0, fresher=0, failed=0, retries=0, batches=0, same=0, missing=0, different=0, in_flight=0, raw_bytes=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        read: u64,
        expired: u64,
        skipped: u64,
        err_ignored: u64,
        inserted: u64,
        updated: u64,
        existed: u64,
        fresher: u64,
        failed: u64,
        retries: u64,
        batches: u64,
        same: u64,
        missing: u64,
        different: u64,
        in_flight: u64,
        raw_bytes: u64,
    ) -> RestoreCounters {
        RestoreCounters {
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
            same,
            missing,
            different,
            in_flight,
            raw_bytes,
        }
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

"""The driver of a restore (or verify) on a connected cluster: the checks before the first
write (server, namespaces, batch writes), the Rust run (`asb_wire::restore`), its
partition map kept current, indexes and UDFs applied as they come, progress and stop
requests. The counters are the caller's to read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import asbkit._codec as _codec

from ..cluster.client import N_PARTITIONS, Cluster, info_fields
from ..control import Cancel, RestoreCounters, RestoreProgress
from ..errors import AsbError, NamespaceNotFound, RestoreFailed, refined
from ..io import places
from ..io.layers import CodecLayers
from .metadata import MetadataApplier
from .options import RestoreOptions, stdin_size

log = logging.getLogger("asbkit.restore")


@dataclass(frozen=True)
class RestoreSettings:
    """A restore as the codec takes it (`_codec.RestoreRun`): asrestore's options, resolved."""

    layers: CodecLayers
    #: -n A (every record must be in A), -n A,B (written into B).
    expect_namespace: str | None
    write_namespace: str | None
    sets: list[str] | None
    bins: list[str] | None
    no_records: bool
    no_indexes: bool
    no_udfs: bool
    unique: bool
    replace: bool
    no_generation: bool
    extra_ttl: int
    batch_writes: bool
    batch_size: int
    max_async_batches: int
    readers: int
    writers: int
    max_retries: int
    retry_scale: timedelta
    ignore_record_error: bool
    total_timeout_ms: int
    #: Records per second written at most, backup bytes per second read at most (0: no cap).
    tps: int
    bandwidth: int
    #: Read the records back and compare instead of writing them.
    verify: bool


def restore_settings(o: RestoreOptions, inputs: int, *, verify: bool, batch_writes: bool, total_timeout_ms: int) -> RestoreSettings:
    """The codec's settings for a restore (or verify) of `inputs` files with options `o`."""
    rename = o.rename
    return RestoreSettings(
        layers=o.layers.codec_args(),
        expect_namespace=(rename[0] if rename else o.namespace) if o.namespace else None,
        write_namespace=rename[1] if rename else None,
        sets=o.sets or None,
        bins=o.bin_list or None,
        no_records=o.no_records,
        no_indexes=o.no_indexes or verify,
        no_udfs=o.no_udfs or verify,
        unique=o.unique,
        replace=o.replace,
        no_generation=o.no_generation,
        extra_ttl=o.extra_ttl,
        batch_writes=batch_writes,
        batch_size=o.batch_size or (128 if batch_writes else 16),
        max_async_batches=o.max_async_batches,
        readers=min(inputs, 2),
        writers=o.parallel,
        max_retries=o.max_retries,
        retry_scale=timedelta(microseconds=max(0, o.retry_scale_factor_us)),
        ignore_record_error=o.ignore_record_error,
        total_timeout_ms=total_timeout_ms,
        tps=o.tps,
        bandwidth=int(o.bandwidth_mib * (1 << 20)),
        verify=verify,
    )


class RestoreDriver:
    """One restore (or verify) on a connected cluster: the checks before the first write,
    the Rust run, its partition map kept current, indexes and UDFs applied as they come,
    progress; the counters are the caller's to read (`counters()`)."""

    def __init__(self, cluster: Cluster, o: RestoreOptions, files: list[str], namespaces: list[str | None], report: Any, *, verify: bool = False) -> None:
        self.cluster, self.o, self.report = cluster, o, report
        report.server_version = cluster.build()
        log.info("Processing %d node(s)", len(cluster.nodes()))
        rename = self.rename = o.rename
        targets = {rename[1]} if rename else {ns for ns in namespaces if ns} | ({o.namespace} if o.namespace else set())
        on_cluster = cluster.namespaces()
        missing = sorted(t for t in targets if t not in on_cluster)
        if missing:
            raise NamespaceNotFound(
                f"namespace {', '.join(map(repr, missing))} is not on the cluster (it has: {', '.join(on_cluster) or 'none'}); "
                "-n OLD,NEW writes the backup into another namespace"
            )
        self.namespace = next(iter(sorted(targets)), None) or on_cluster[0]
        report.namespace = self.namespace
        self.batch_writes = not o.disable_batch_writes
        if self.batch_writes and not verify:
            self._check_batch_writes(report.server_version)
        self.metadata = MetadataApplier(cluster, self.rename, o.sets, timeout_s=o.timeout_ms / 1000)
        self.deferred: list[Any] = []
        ranges = o.file_ranges or [None] * len(files)
        self.total_bytes = stdin_size(o.input_file) or 0 if "-" in files else sum(r[1] - r[0] if r else places.size(f) or 0 for f, r in zip(files, ranges, strict=True))
        cfg = cluster.config
        access = cluster.wire_access()
        if access.tls is not None and access.tls_name is None:
            # Every node's certificate names the first seed's host (the client's own rule).
            access = replace(access, tls_name=cfg.seeds()[0][0])
        settings = restore_settings(o, len(files), verify=verify, batch_writes=self.batch_writes, total_timeout_ms=cfg.total_timeout_ms or o.timeout_ms)
        self.rust = _codec.RestoreRun(files, list(ranges), settings, access)
        #: A stop request came (Cancel).
        self.interrupted = False
        self.error: AsbError | None = None
        self._last_routes = 0.0
        self.publish_routes()

    def _check_batch_writes(self, build: str) -> None:
        try:
            major = int(build.split(".")[0])
        except ValueError:
            major = 0
        if major and major < 6:
            raise RestoreFailed(f"the server ({build}) has no batch writes (6.0 and later): use --disable-batch-writes")
        for node, reply in self.cluster.info_all("get-config:context=service").items():
            threads = info_fields(reply).get("batch-index-threads")
            if threads is not None and int(threads) == 0:
                raise RestoreFailed(f"node {node.addr} has batch-index-threads 0 (batch writes off): use --disable-batch-writes")

    def counters(self) -> RestoreCounters:
        """The Rust run's counters now."""
        return RestoreCounters.of(self.rust.counters())

    def stopped_by(self) -> list[AsbError]:
        """Why the run stopped early, if it did: the Rust run's error (refined), then the
        driver's own."""
        fatal = self.rust.fatal()
        found = [refined(fatal)] if isinstance(fatal, AsbError) else []
        return found + ([self.error] if self.error is not None else [])

    def publish_routes(self) -> None:
        masters = self.cluster.partition_masters(self.namespace)
        nodes = sorted({n.addr for n in masters.values()})
        index = {addr: i for i, addr in enumerate(nodes)}
        self.rust.publish_routes(nodes, [index[masters[pid].addr] if pid in masters else None for pid in range(N_PARTITIONS)])
        self._last_routes = time.monotonic()

    def _apply_metadata(self, final: bool = False) -> None:
        for entity in self.rust.take_metadata():
            if self.o.indexes_last and not hasattr(entity, "content"):
                self.deferred.append(entity)
            else:
                self.metadata.apply(entity)
        if final:
            for entity in self.deferred:
                self.metadata.apply(entity)
            self.deferred = []

    def drive(self, on_progress: Callable[[RestoreProgress], None] | None, cancel: Cancel | None) -> None:
        """Runs the restore; keeps the map current, applies indexes and UDFs as they come,
        reports progress. `cancel` stops it (what was written stays written)."""
        self.rust.start()
        try:
            while True:
                done = self.rust.wait(0.2)
                if cancel is not None and cancel.is_set() and not self.interrupted:
                    self.interrupted = True
                    self.rust.cancel()
                try:
                    self._apply_metadata()
                    now = time.monotonic()
                    if (self.rust.routes_stale() and now - self._last_routes > 0.1) or now - self._last_routes > 2.0:
                        self.publish_routes()
                except AsbError as exc:
                    self.error = self.error or exc
                    self.rust.cancel()
                if on_progress is not None:
                    counts = self.metadata.counts
                    on_progress(RestoreProgress(self.counters(), self.total_bytes, counts.udfs, counts.indexes))
                if done:
                    break
            if self.error is None and not self.interrupted:
                self._apply_metadata(final=True)
                if self.o.wait:
                    self.metadata.wait()
        except AsbError as exc:
            self.error = self.error or exc

"""What `restore` and `verify` share: asrestore's options, the checks made before anything
is written (options, inputs and their layers, the server, the namespaces, batch writes),
and the driver of the Rust run on a connected cluster (partition map, indexes and UDFs,
signals, progress). The Rust wire layer reads the files and writes or reads back the
records (`asb_wire::restore`)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import _codec
from .cluster import N_PARTITIONS, Cluster, info_fields
from .errors import AsbError, BadInput, BadOption, InputUnreadable, NamespaceNotFound, RestoreFailed
from .layers import Layers
from .progress import MachineLines, RestoreProgress
from .restore_metadata import MetadataApplier

log = logging.getLogger("asbkit.restore")


@dataclass
class RestoreOptions:
    """asrestore's options, by their long names."""

    directory: str | None = None
    input_file: str | None = None
    directory_list: list[str] = field(default_factory=list)
    parent_directory: str | None = None
    #: `A` (check) or `A,B` (write A's records into B).
    namespace: str | None = None
    sets: list[str] = field(default_factory=list)
    bin_list: list[str] = field(default_factory=list)
    no_records: bool = False
    no_indexes: bool = False
    no_udfs: bool = False
    indexes_last: bool = False
    wait: bool = False
    unique: bool = False
    replace: bool = False
    no_generation: bool = False
    ignore_record_error: bool = False
    extra_ttl: int = 0
    layers: Layers = field(default_factory=Layers)
    parallel: int = 20
    batch_size: int | None = None  # 128 with batch writes, 16 without
    max_async_batches: int = 32
    disable_batch_writes: bool = False
    max_retries: int = 5
    retry_scale_factor_ms: float = 150.0
    timeout_ms: int = 10_000
    #: MiB/s of backup read, records/s written (0: no limit).
    bandwidth_mib: int = 0
    tps: int = 0


def check_options(o: RestoreOptions) -> None:
    """The combinations asrestore refuses, refused the same way (with the flags named)."""
    given = [f for f, v in (("-d/--directory", o.directory), ("-i/--input-file", o.input_file), ("--directory-list", o.directory_list)) if v]
    if len(given) != 1:
        raise ValueError("give exactly one of -d/--directory, -i/--input-file and --directory-list")
    if o.parent_directory and not o.directory_list:
        raise ValueError("--parent-directory goes with --directory-list")
    if o.unique and (o.replace or o.no_generation):
        raise ValueError("-u/--unique cannot be combined with -r/--replace or -g/--no-generation")
    if o.namespace is not None and not 1 <= len(o.namespace.split(",")) <= 2:
        raise ValueError("-n/--namespace takes A or A,B")
    if not 1 <= o.parallel <= 4096:
        raise ValueError("-t/--parallel takes 1 to 4096")
    if o.batch_size is not None and o.batch_size < 1:
        raise ValueError("--batch-size is at least 1")
    if not 0 <= o.extra_ttl <= 2**31 - 1:
        raise ValueError("--extra-ttl takes 0 to 2147483647 seconds")
    for name in o.bin_list:
        if not 0 < len(name.encode()) <= 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is not 1 to 15 bytes")
    for name in o.sets:
        if not 0 < len(name.encode()) <= 63:
            raise ValueError(f"-s/--set-list: set name {name!r} is not 1 to 63 bytes")


def stdin_size(input_file: str | None) -> int | None:
    """The size a `-:BYTES` input gives for stdin (0 for a bare `-`), else None."""
    if input_file == "-":
        return 0
    if input_file and input_file.startswith("-:"):
        try:
            return max(int(input_file[2:]), 0)
        except ValueError:
            raise BadOption(f"-i {input_file}: after '-:' comes the input's size in bytes") from None
    return None


def under_parent(parent: str | None, entry: str) -> str:
    """A --directory-list entry under --parent-directory, joined as asrestore joins them:
    as text, with a `/` between only when neither side has one (`/backups` and `/b` give
    `/backups/b`, not `/b`)."""
    if not parent:
        return entry
    if parent.endswith("/") or entry.startswith("/"):
        return parent + entry
    return f"{parent}/{entry}"


def input_files(o: RestoreOptions) -> list[str]:
    """The files to restore: a directory's `*.asb` files (sorted), several directories', or
    one file (`-` for stdin; asrestore's `-:BYTES` is stdin with its size, for progress)."""
    if o.input_file:
        return ["-"] if stdin_size(o.input_file) is not None else [o.input_file]
    dirs = [o.directory] if o.directory else [under_parent(o.parent_directory, d) for d in o.directory_list]
    files: list[str] = []
    for d in dirs:
        try:
            found = [str(f) for f in _codec.list_backup_files(d)]
        except OSError as exc:
            raise InputUnreadable(f"cannot list the directory: {exc.strerror or exc}", path=d) from exc
        if not found:
            raise BadInput("the directory holds no .asb files (check -d/--directory)", path=d)
        log.info("Found %d backup file(s) in %s", len(found), d)
        files += found
    return files


def check_inputs(files: list[str], o: RestoreOptions) -> list[str | None]:
    """Opens every file with the given layers and reads its header before anything is
    written; their namespaces (None when a file does not say)."""
    namespaces: list[str | None] = []
    expected = o.namespace.split(",")[0] if o.namespace else None
    for f in files:
        if f == "-":
            namespaces.append(None)
            continue
        reader = _codec.Reader(f, **o.layers.codec_args())
        ns = reader.header.namespace
        if expected is not None and ns is not None and ns != expected:
            raise BadInput(
                f"the file holds namespace {ns!r}, not {expected!r}: give -n {ns} (or -n {ns},NEW to write it into NEW)", path=f
            )
        namespaces.append(ns)
    return namespaces


def prepare(o: RestoreOptions, report: Any) -> tuple[list[str], list[str | None]]:
    """Checks the options and opens every input: its files and their namespaces."""
    check_options(o)
    files = input_files(o)
    report.files = files
    return files, check_inputs(files, o)


class RestoreDriver:
    """One restore (or verify) on a connected cluster: the checks before the first write,
    the Rust run, its partition map kept current, indexes and UDFs applied as they come,
    progress; the counters are the caller's to read (`rust.counters()`)."""

    def __init__(self, cluster: Cluster, o: RestoreOptions, files: list[str], namespaces: list[str | None], report: Any, *, verify: bool = False) -> None:
        self.cluster, self.o, self.report = cluster, o, report
        report.server_version = cluster.build()
        log.info("Processing %d node(s)", len(cluster.nodes()))
        rename = tuple(o.namespace.split(",")) if o.namespace and "," in o.namespace else None
        self.rename: tuple[str, str] | None = rename  # type: ignore[assignment]
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
        self.total_bytes = stdin_size(o.input_file) or 0 if "-" in files else sum(os.path.getsize(f) for f in files)
        auth = cluster.wire_auth()
        if "tls" in auth and "tls_name" not in auth:
            auth["tls_name"] = cluster.config.seeds()[0][0]
        cfg = cluster.config
        self.rust = _codec.RestoreRun(
            files,
            **o.layers.codec_args(),
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
            batch_writes=self.batch_writes,
            batch_size=o.batch_size or (128 if self.batch_writes else 16),
            max_async_batches=o.max_async_batches,
            readers=min(len(files), 2),
            writers=o.parallel,
            max_retries=o.max_retries,
            retry_scale_ms=o.retry_scale_factor_ms,
            ignore_record_error=o.ignore_record_error,
            socket_timeout_ms=cfg.socket_timeout_ms,
            total_timeout_ms=cfg.total_timeout_ms or o.timeout_ms,
            connect_timeout_ms=cfg.connect_timeout_ms,
            tps=o.tps,
            bandwidth=o.bandwidth_mib << 20,
            verify=verify,
            **auth,
        )
        self.interrupted = threading.Event()
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

    def drive(self, progress: bool | None, on_progress: Callable[[dict[str, int]], None] | None, handle_signals: bool, machine: MachineLines | None = None) -> None:
        """Runs the restore; keeps the map current, applies indexes and UDFs as they come,
        shows progress. Ctrl-C or SIGTERM stops it (what was written stays written)."""

        old_handlers: dict[int, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, frame: Any) -> None:
                self.interrupted.set()
                self.rust.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, on_signal)
        display = RestoreProgress(self.total_bytes, enabled=progress, machine=machine)
        self.rust.start()
        try:
            while True:
                done = self.rust.wait(0.2)
                try:
                    self._apply_metadata()
                    now = time.monotonic()
                    if (self.rust.routes_stale() and now - self._last_routes > 0.1) or now - self._last_routes > 2.0:
                        self.publish_routes()
                except AsbError as exc:
                    self.error = self.error or exc
                    self.rust.cancel()
                counters = self.rust.counters()
                display.update(counters, self.metadata.counts.udfs, self.metadata.counts.indexes)
                if on_progress:
                    on_progress(counters)
                if done:
                    break
            if self.error is None and not self.interrupted.is_set():
                self._apply_metadata(final=True)
                if self.o.wait:
                    self.metadata.wait()
        except AsbError as exc:
            self.error = self.error or exc
        finally:
            display.close()
            for sig, h in old_handlers.items():
                signal.signal(sig, h)

"""`asbkit backup`: a namespace of a live cluster into `.asb` files, as C `asbackup` writes
them, surviving node loss and continuing after any interruption.

Python decides what to scan where (partition map, retries, resume state); the Rust wire
layer scans each node's partitions straight into the output files.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import _codec, __version__
from ..cluster import Cluster, ClusterConfig, Node, parse_hosts
from ..errors import AsbClusterError, AsbError
from ..expressions import backup_filter, parse_backup_time
from ..layers import Layers
from ..partitions import (
    N_PARTITIONS,
    PartitionRange,
    after_digest_range,
    jobs_for,
    parse_partition_list,
)
from ..result import CommandResult
from .. import resume as resume_mod

log = logging.getLogger("asbkit.backup")

TOOL = f"asbkit {__version__}"


@dataclass
class BackupOptions:
    """asbackup's options, by their long names."""

    namespace: str
    directory: str | None = None
    output_file: str | None = None
    output_file_prefix: str | None = None
    file_limit: int = 250  # MiB
    remove_files: bool = False
    remove_artifacts: bool = False
    sets: list[str] = field(default_factory=list)
    bin_list: list[str] = field(default_factory=list)
    no_bins: bool = False
    no_records: bool = False
    no_indexes: bool = False
    no_udfs: bool = False
    max_records: int = 0
    modified_after: str | None = None
    modified_before: str | None = None
    no_ttl_only: bool = False
    filter_exp: str | None = None  # base64
    partition_list: str | None = None
    after_digest: str | None = None
    node_list: str | None = None
    parallel: int | None = None
    records_per_second: int = 0
    nice: int = 0  # MiB/s
    compact: bool = False
    layers: Layers = field(default_factory=Layers)
    max_retries: int = 5
    sleep_between_retries: int = 0  # ms
    continue_from: str | None = None
    state_file_dst: str | None = None
    #: Seconds between saved states (and commits) while running.
    checkpoint_seconds: float = 1.0
    estimate: bool = False
    estimate_samples: int = 10_000


@dataclass
class BackupFile:
    name: str
    records: int
    bytes: int
    sha256: str | None


@dataclass
class Estimate:
    """asbackup's `--estimate`: from a sample of records written through the layers."""

    samples: int
    #: Records in the namespace (or sets), as the cluster counts them.
    records: int
    #: Upper bound of the average record's text (99.9999% confidence).
    record_bytes: int
    #: Bytes on disk per byte of text (1.0 without compression).
    compression_ratio: float
    #: Upper bound of the whole backup's size (99.9% confidence).
    total_bytes: int


@dataclass
class BackupReport:
    namespace: str
    records: int = 0
    bytes: int = 0
    text_bytes: int = 0
    indexes: int = 0
    udfs: int = 0
    files: list[BackupFile] = field(default_factory=list)
    duration_seconds: float = 0.0
    server_version: str | None = None
    manifest: str | None = None
    #: Written when the backup stopped before its end: continue with `--continue` it.
    state_file: str | None = None
    interrupted: bool = False
    estimate: Estimate | None = None

    def summary_line(self) -> str:
        """asbackup's own last line, which scripts parse."""
        per = self.bytes // self.records if self.records else 0
        return (
            f"Backed up {self.records} record(s), {self.indexes} secondary index(es), "
            f"{self.udfs} UDF file(s), {self.bytes} byte(s) in total (~{per} B/rec)"
        )


class BackupFailed(AsbError):
    code = "backup_failed"


def _split_sets(text: str | None) -> list[str]:
    """Comma-separated; a name in ' or \" quotes may hold commas (as asbackup reads -s)."""
    if not text:
        return []
    out, cur, quote = [], "", None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [s for s in out if s]


def check_options(o: BackupOptions) -> None:
    """The combinations asbackup refuses, refused the same way (with the flags named)."""
    if o.remove_artifacts:
        if not (o.directory or o.output_file):
            raise ValueError("--remove-artifacts needs -d/--directory or -o/--output-file")
        return
    if o.estimate:
        clash = [f for f, v in (("-d/--directory", o.directory), ("-o/--output-file", o.output_file), ("-w/--parallel", o.parallel), ("-c/--continue", o.continue_from), ("-R/--no-records", o.no_records)) if v]
        if clash:
            raise ValueError(f"-e/--estimate cannot be combined with {', '.join(clash)}")
        if o.estimate_samples < 1:
            raise ValueError("--estimate-samples is at least 1")
        return
    if bool(o.directory) == bool(o.output_file):
        raise ValueError("give exactly one of -d/--directory and -o/--output-file")
    if o.filter_exp and (o.modified_after or o.modified_before or o.no_ttl_only or len(o.sets) > 1):
        raise ValueError(
            "-f/--filter-exp cannot be combined with -a/--modified-after, -b/--modified-before, "
            "--no-ttl-only or more than one set"
        )
    chosen = [f for f, v in (("-X/--partition-list", o.partition_list), ("-D/--after-digest", o.after_digest), ("-l/--node-list", o.node_list)) if v]
    if len(chosen) > 1:
        raise ValueError(f"{' and '.join(chosen)} are mutually exclusive")
    if o.parallel is not None and not 1 <= o.parallel <= 100:
        raise ValueError("-w/--parallel takes 1 to 100")
    if o.file_limit < 1:
        raise ValueError("-F/--file-limit is at least 1 (MiB)")
    if o.continue_from and o.remove_files:
        raise ValueError("-c/--continue cannot be combined with -r/--remove-files")
    if o.output_file == "-" and o.continue_from:
        raise ValueError("a backup to stdout cannot be continued")
    for name in o.bin_list:
        if len(name.encode()) > 15:
            raise ValueError(f"-B/--bin-list: bin name {name!r} is longer than 15 bytes")


def _resolve_state_path(o: BackupOptions) -> str | None:
    """Where the state of an interrupted backup goes (asbackup's rule)."""
    name = f"{o.output_file_prefix or o.namespace}.asb.state"
    if o.state_file_dst:
        if os.path.isdir(o.state_file_dst):
            return os.path.join(o.state_file_dst, name)
        return o.state_file_dst
    if o.directory:
        return os.path.join(o.directory, name)
    if o.output_file and o.output_file != "-":
        return o.output_file + ".state"
    return None


def _manifest_path(o: BackupOptions) -> str | None:
    if o.directory:
        return os.path.join(o.directory, f"{o.output_file_prefix or o.namespace}.manifest.json")
    if o.output_file and o.output_file != "-":
        return o.output_file + ".manifest.json"
    return None


def _fingerprint(o: BackupOptions) -> dict[str, Any]:
    """The options a continuation must repeat: they decide what is in the files."""
    d = asdict(o)
    for volatile in ("continue_from", "remove_files", "state_file_dst", "checkpoint_seconds", "layers", "parallel", "records_per_second", "nice", "max_retries", "sleep_between_retries"):
        d.pop(volatile, None)
    return d


def remove_artifacts(o: BackupOptions) -> list[str]:
    removed = []
    if o.output_file and o.output_file != "-":
        for p in (o.output_file, o.output_file + ".manifest.json"):
            if os.path.exists(p):
                os.remove(p)
                removed.append(p)
    if o.directory and os.path.isdir(o.directory):
        for p in sorted(Path(o.directory).iterdir()):
            if p.name.endswith(".asb") or p.name.endswith(".manifest.json"):
                p.unlink()
                removed.append(str(p))
        if not any(Path(o.directory).iterdir()):
            os.rmdir(o.directory)
    return removed


def _prepare_output_place(o: BackupOptions, resuming: bool) -> None:
    if o.directory:
        d = Path(o.directory)
        if not d.exists():
            d.mkdir(mode=0o775, parents=True)
        existing = sorted(p for p in d.iterdir() if p.name.endswith(".asb"))
        if existing and not resuming:
            if not o.remove_files:
                raise BackupFailed(
                    f"the directory already holds {len(existing)} .asb file(s); "
                    "pass -r/--remove-files to replace them, or -c/--continue to go on with a backup",
                    path=str(d),
                )
            for p in existing:
                p.unlink()
            manifest = _manifest_path(o)
            if manifest and os.path.exists(manifest):
                os.remove(manifest)
    elif o.output_file and o.output_file != "-" and not resuming:
        if os.path.exists(o.output_file):
            if not o.remove_files:
                raise BackupFailed("the output file exists; pass -r/--remove-files to replace it", path=o.output_file)
            os.remove(o.output_file)


def _metadata(cluster: Cluster, o: BackupOptions) -> tuple[list[Any], list[Any]]:
    """Secondary index and UDF definitions, as asbackup puts them in the first file."""
    indexes: list[Any] = []
    udfs: list[Any] = []
    if not o.no_indexes:
        reply = cluster.info_any(f"sindex-list:ns={o.namespace};b64=true").strip()
        for entry in (e for e in reply.split(";") if e):
            idx = _parse_sindex(o.namespace, entry)
            if idx is None:
                continue
            if o.sets and idx.set not in o.sets:
                continue
            indexes.append(idx)
    if not o.no_udfs:
        import base64

        reply = cluster.info_any("udf-list").strip()
        for entry in (e for e in reply.split(";") if e):
            fields = dict(kv.split("=", 1) for kv in entry.split(",") if "=" in kv)
            name = fields.get("filename")
            if not name:
                continue
            got = cluster.info_any(f"udf-get:filename={name}").strip()
            parts = dict(kv.split("=", 1) for kv in got.split(";") if "=" in kv)
            if "content" not in parts:
                raise AsbClusterError(f"UDF {name}: the server did not return its content ({got[:80]})")
            udfs.append(_codec.Udf(name, base64.b64decode(parts["content"]), "L"))
    return indexes, udfs


_INDEX_TYPES = {"default": "N", "none": "N", "list": "L", "mapkeys": "K", "mapvalues": "V"}
_PATH_TYPES = {"string": "S", "text": "S", "numeric": "N", "int signed": "N", "blob": "B", "geo2dsphere": "G", "geojson": "G"}


def _parse_sindex(namespace: str, entry: str) -> Any:
    fields = dict(kv.split("=", 1) for kv in entry.split(":") if "=" in kv)
    name = fields.get("indexname")
    if not name:
        raise AsbClusterError(f"a secondary index without a name in sindex-list: {entry[:120]}")
    bin_name = fields.get("bin")
    if not bin_name or bin_name == "NULL":
        # An expression index: the C tool cannot write it either; said, not hidden.
        log.warning("secondary index %s has no bin (an expression index): not backed up", name)
        return None
    itype = _INDEX_TYPES.get(fields.get("indextype", "default").lower())
    ptype = _PATH_TYPES.get(fields.get("type", "").lower())
    if itype is None or ptype is None:
        raise AsbClusterError(f"secondary index {name}: unknown type {fields.get('indextype')}/{fields.get('type')}")
    set_name = fields.get("set")
    if set_name == "NULL":
        set_name = None
    ctx = fields.get("context")
    if ctx in (None, "null", "NULL"):
        ctx = None
    return _codec.SecondaryIndex(namespace, set_name or "", name, itype, [(bin_name, ptype)], ctx)


@dataclass
class _Job:
    number: int
    pids: list[int]
    #: --max-records share (0: none).
    quota: int = 0


class _Engine:
    def __init__(self, cluster: Cluster, o: BackupOptions, output: Any, ckpt: Any, filter_exp: bytes | None, first_file_job: bool) -> None:
        self.cluster = cluster
        self.o = o
        self.output = output
        self.ckpt = ckpt
        self.filter_exp = filter_exp
        self.first_file_job = first_file_job
        self.metadata: list[Any] = []
        self._map_lock = threading.Lock()
        self._masters: dict[int, Node] = {}
        self._map_time = 0.0

    def masters(self, refresh: bool = False) -> dict[int, Node]:
        """Where to read each partition: the preferred racks' replicas on a first try
        (--prefer-racks), masters on retries."""
        with self._map_lock:
            if refresh or not self._masters or time.monotonic() - self._map_time > 5:
                racks = self.cluster.config.prefer_racks if not refresh else []
                self._masters = self.cluster.partition_readers(self.o.namespace, racks)
                self._map_time = time.monotonic()
            return self._masters

    def run(self, job: _Job) -> None:
        o = self.o
        out_job = self.output.job(first_file=self.first_file_job and job.number == 0)
        try:
            if self.first_file_job and job.number == 0:
                for entity in self.metadata:
                    out_job.write(self.output, entity)
            if o.no_records:
                return
            pending = [p for p in job.pids if not self.ckpt.partition(p)[2]]
            fruitless = 0
            taken = 0
            refresh = False
            last_error: dict[str, Any] | None = None
            while pending:
                if self.ckpt.cancelled():
                    return
                masters = self.masters(refresh)
                by_node: dict[Node, list[int]] = {}
                for pid in pending:
                    node = masters.get(pid)
                    if node is not None:
                        by_node.setdefault(node, []).append(pid)
                before = self.ckpt.counters()[0]
                for node, pids in by_node.items():
                    quota = 0
                    if job.quota:
                        quota = job.quota - taken
                        if quota <= 0:
                            return
                    res = _codec.scan_partitions(
                        self.output, out_job, self.ckpt, node.addr, o.namespace, pids,
                        set=o.sets[0] if len(o.sets) == 1 else None,
                        bins=o.bin_list or None,
                        no_bins=o.no_bins,
                        max_records=quota,
                        records_per_second=self.rps,
                        socket_timeout_ms=self.cluster.config.socket_timeout_ms,
                        total_timeout_ms=self.cluster.config.total_timeout_ms,
                        connect_timeout_ms=self.cluster.config.connect_timeout_ms,
                        filter_exp=self.filter_exp,
                        compact=o.compact,
                        commit_seconds=o.checkpoint_seconds,
                        **self.cluster.wire_auth(),
                    )
                    taken += res["records"]
                    err = res["error"]
                    if err is None:
                        continue
                    if err["kind"] == "cancelled":
                        return
                    where = _describe_pids(pids)
                    if not err["retryable"]:
                        raise BackupFailed(f"{_error_text(err)} (reading {where})")
                    last_error = err
                    log.info("retrying %s: %s", where, _error_text(err))
                if job.quota and taken >= job.quota:
                    return
                pending = [p for p in pending if not self.ckpt.partition(p)[2]]
                if not pending:
                    return
                # Progress resets the count: a node lost mid-scan costs tries only while
                # nothing can be read.
                fruitless = 0 if self.ckpt.counters()[0] > before else fruitless + 1
                if fruitless > o.max_retries:
                    reason = _error_text(last_error) if last_error else "no node masters them (the cluster is changing, or a node is down)"
                    raise BackupFailed(
                        f"{_describe_pids(pending)} could not be read after {o.max_retries} retries: {reason}; "
                        "the backup state is saved, continue with -c/--continue once the cluster is whole"
                    )
                delay = max(o.sleep_between_retries / 1000, min(0.25 * 2 ** (fruitless - 1), 2.0)) if fruitless else 0.05
                time.sleep(delay)
                refresh = True
        finally:
            out_job.release(self.output)

    rps = 0


def _describe_pids(pids: list[int]) -> str:
    if len(pids) == 1:
        return f"partition {pids[0]}"
    ranges = []
    start = prev = pids[0]
    for p in pids[1:] + [None]:  # type: ignore[list-item]
        if p is not None and p == prev + 1:
            prev = p
            continue
        ranges.append(f"{start}" if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    shown = ", ".join(ranges[:8]) + (", …" if len(ranges) > 8 else "")
    return f"partitions {shown} ({len(pids)} in all)"


def _error_text(err: dict[str, Any]) -> str:
    node = err.get("node")
    msg = err["message"]
    return f"node {node}: {msg}" if node and node not in msg else msg


def _jobs(cluster: Cluster, o: BackupOptions) -> tuple[list[_Job], dict[int, bytes]]:
    """The jobs and the digests some partitions start after."""
    after: dict[int, bytes] = {}
    if o.node_list:
        wanted = {(h[0], h[1]) for h in parse_hosts(o.node_list)}
        masters = cluster.stable_partition_masters(o.namespace, timeout=10)
        pids = sorted(p for p, n in masters.items() if (n.address, n.port) in wanted)
        known = {(n.address, n.port) for n in cluster.nodes()}
        missing = wanted - known
        if missing:
            raise BackupFailed(f"-l/--node-list: {', '.join(f'{h}:{p}' for h, p in sorted(missing))} is not a node of the cluster")
        parallel = o.parallel or 16
        n = max(1, min(parallel, len(pids)))
        chunks = [pids[len(pids) * i // n : len(pids) * (i + 1) // n] for i in range(n)]
        jobs = [_Job(i, c) for i, c in enumerate(chunks) if c]
    else:
        if o.partition_list:
            ranges = parse_partition_list(o.partition_list)
        elif o.after_digest:
            ranges = [after_digest_range(o.after_digest)]
        else:
            ranges = [PartitionRange(0, N_PARTITIONS)]
        for r in ranges:
            if r.after is not None:
                after[r.begin] = r.after
        jobs = [_Job(i, r.pids) for i, r in enumerate(jobs_for(ranges, o.parallel or 1))]
    if o.max_records:
        share = -(-o.max_records // len(jobs))
        for j in jobs:
            j.quota = share
    return jobs, after


def backup(
    config: ClusterConfig,
    options: BackupOptions,
    *,
    progress: bool | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
    handle_signals: bool = True,
) -> CommandResult[BackupReport]:
    """Runs a backup; returns its report (and errors, which make the exit code non-zero)."""
    o = options
    report = BackupReport(namespace=o.namespace)
    started = time.monotonic()
    try:
        check_options(o)
    except ValueError as exc:
        return CommandResult("backup", report, [AsbError(str(exc))])
    if o.remove_artifacts:
        removed = remove_artifacts(o)
        log.info("removed %d file(s)", len(removed))
        return CommandResult("backup", report)
    if o.estimate:
        return _estimate(config, o, report)

    state_path = _resolve_state_path(o)
    state = None
    if o.continue_from:
        state = resume_mod.load_state(o.continue_from)
        if state["namespace"] != o.namespace or state["arguments"] != _fingerprint(o):
            changed = sorted(k for k in set(state["arguments"]) | set(_fingerprint(o)) if state["arguments"].get(k) != _fingerprint(o).get(k))
            return CommandResult("backup", report, [BackupFailed(
                "the options differ from those of the interrupted backup"
                + (f" ({', '.join(changed)})" if changed else "")
                + ": continue with the same arguments",
                path=o.continue_from,
            )])
        if state["layers"] != o.layers.describe():
            return CommandResult("backup", report, [BackupFailed(
                f"the interrupted backup was written {state['layers']}, not {o.layers.describe()}: "
                "give the same -z/-y options", path=o.continue_from)])

    try:
        _prepare_output_place(o, resuming=state is not None)
    except AsbError as exc:
        return CommandResult("backup", report, [exc])
    except OSError as exc:
        return CommandResult("backup", report, [exc])

    try:
        cluster = Cluster(config)
    except (AsbError, ValueError) as exc:
        return CommandResult("backup", report, [exc if isinstance(exc, AsbError) else AsbError(str(exc))])
    interrupted = threading.Event()
    old_handlers: dict[int, Any] = {}
    try:
        report.server_version = cluster.build()
        if o.namespace not in cluster.namespaces():
            raise BackupFailed(
                f"namespace {o.namespace!r} is not on the cluster (it has: {', '.join(cluster.namespaces()) or 'none'}); check -n/--namespace"
            )
        filter_exp = None
        if o.filter_exp:
            import base64

            filter_exp = base64.b64decode(o.filter_exp)
        else:
            filter_exp = backup_filter(
                parse_backup_time(o.modified_after) if o.modified_after else None,
                parse_backup_time(o.modified_before) if o.modified_before else None,
                o.no_ttl_only,
                o.sets,
            )
        jobs, after = _jobs(cluster, o)
        codec = o.layers.codec_args()
        kind = "directory" if o.directory else "stdout" if o.output_file == "-" else "file"
        path = o.directory or (o.output_file if kind == "file" else None)
        output = _codec.BackupOutput(
            kind, path, o.namespace,
            prefix=o.output_file_prefix, file_limit=o.file_limit << 20, first_file=True,
            nice_mib=o.nice, level=o.layers.compression_level,
            resume=state["files"] if state else None, **codec,
        )
        if state:
            if state.get("jobs"):
                # The same partitions as before, job by job (-l ownership may have moved).
                quota = jobs[0].quota if jobs else 0
                jobs = [_Job(i, pids, quota) for i, pids in enumerate(state["jobs"])]
            _drop_uncommitted_files(o, state)
            ckpt = _codec.BackupCheckpoint(state["partitions"])
            report.indexes, report.udfs = state["indexes"], state["udfs"]
            if o.max_records:
                done = sum(f["records"] for f in state["files"])
                left = max(0, o.max_records - done)
                for j in jobs:
                    j.quota = -(-left // len(jobs)) if left else 0
                if not left:
                    jobs = []
        else:
            ckpt = _codec.BackupCheckpoint([(pid, d, 0, False) for pid, d in after.items()])
        engine = _Engine(cluster, o, output, ckpt, filter_exp, first_file_job=state is None)
        engine.rps = max(1, o.records_per_second // max(1, len(jobs))) if o.records_per_second else 0
        if state is None:
            indexes, udfs = _metadata(cluster, o)
            engine.metadata = indexes + udfs
            report.indexes, report.udfs = len(indexes), len(udfs)
            if indexes:
                log.info("Backing up %d secondary index(es)", len(indexes))
            if udfs:
                log.info("Backing up %d UDF file(s)", len(udfs))

        estimate = 0 if o.no_records else cluster.record_estimate(o.namespace, o.sets or None)
        already = sum(f["records"] for f in state["files"]) if state else 0

        def save_state() -> None:
            if state_path is None:
                return
            parts, files = ckpt.snapshot(output)
            resume_mod.save_state(
                state_path, namespace=o.namespace,
                target={"kind": kind, "path": path, "prefix": o.output_file_prefix},
                layers=o.layers.describe(), arguments=_fingerprint(o),
                partitions=parts, files=list(files), indexes=report.indexes, udfs=report.udfs, tool=TOOL,
                jobs=[j.pids for j in jobs],
            )

        if handle_signals and threading.current_thread() is threading.main_thread():
            def on_signal(signum: int, frame: Any) -> None:
                interrupted.set()
                ckpt.cancel()

            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, on_signal)

        from ..progress import BackupProgress

        display = BackupProgress(estimate, already, enabled=progress)
        with ThreadPoolExecutor(max_workers=max(1, len(jobs)), thread_name_prefix="backup") as pool:
            futures = [pool.submit(engine.run, j) for j in jobs]
            last_save = time.monotonic()
            failed: BaseException | None = None
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_EXCEPTION)
                for f in done:
                    if f.exception() is not None and failed is None:
                        failed = f.exception()
                        ckpt.cancel()
                records, text_bytes = ckpt.counters()
                display.update(already + records, text_bytes)
                if on_progress:
                    on_progress(already + records, text_bytes, estimate)
                if state_path and time.monotonic() - last_save >= o.checkpoint_seconds:
                    save_state()
                    last_save = time.monotonic()
        display.close()
        if failed is not None or interrupted.is_set() or ckpt.cancelled():
            output_failed = isinstance(failed, BackupFailed) and "writing the backup failed" in str(failed)
            if state_path and not output_failed:
                save_state()
                report.state_file = state_path
            report.interrupted = True
            _fill_from_files(report, output.files())
            report.duration_seconds = time.monotonic() - started
            if failed is None:
                err: AsbError = BackupFailed(
                    "the backup was interrupted"
                    + (f"; to go on, run the same command with -c {state_path}" if report.state_file else "")
                )
            elif isinstance(failed, AsbError):
                err = failed
                if report.state_file and "continue" not in err.message:
                    err.message += f"; the state is saved: continue with -c {state_path}"
            else:
                raise failed
            return CommandResult("backup", report, [err])
        files = output.finish()
        _fill_from_files(report, files)
        manifest = _manifest_path(o)
        if manifest:
            resume_mod.write_manifest(
                manifest, namespace=o.namespace, files=list(files), options=_fingerprint(o),
                server=report.server_version, tool=TOOL, indexes=report.indexes, udfs=report.udfs,
                layers=o.layers.describe(),
            )
            report.manifest = manifest
        for stale in {o.continue_from, state_path} - {None}:
            if stale and os.path.exists(stale):
                os.remove(stale)
        report.duration_seconds = time.monotonic() - started
        return CommandResult("backup", report)
    except (AsbError, OSError) as exc:
        report.duration_seconds = time.monotonic() - started
        return CommandResult("backup", report, [exc])
    except ValueError as exc:
        return CommandResult("backup", report, [AsbError(str(exc))])
    finally:
        for sig, h in old_handlers.items():
            signal.signal(sig, h)
        cluster.close()


def _z(p: float) -> float:
    """The z-score of the upper bound: asbackup's `sqrt(2) * -erfinv(2p - 1)`."""
    from statistics import NormalDist

    return -NormalDist().inv_cdf(p)


def _estimate(config: ClusterConfig, o: BackupOptions, report: BackupReport) -> CommandResult[BackupReport]:
    """Writes up to --estimate-samples records through the layers into a scratch directory,
    then bounds the record size and the backup's size as asbackup does."""
    import dataclasses
    import math
    import shutil
    import tempfile

    scratch = tempfile.mkdtemp(prefix="asbkit-estimate-")
    try:
        sample_opts = dataclasses.replace(
            o, estimate=False, directory=scratch, max_records=o.estimate_samples,
            records_per_second=0, nice=0, file_limit=1 << 20, checkpoint_seconds=3600,
        )
        result = backup(config, sample_opts, progress=False, handle_signals=False)
        if not result.ok:
            return CommandResult("backup", report, result.errors)
        files = sorted(Path(scratch).glob("*.asb"))
        sizes: list[int] = []
        header = 0
        # Record sizes: the text each record takes, as asbackup samples them.
        import io

        from ..files import BackupReader, BackupWriter

        for entity in BackupReader([str(f) for f in files], o.layers):
            buf = io.BytesIO()
            w = BackupWriter(buf, o.namespace, first_file=False)
            w.write(entity)
            w.close()
            n = len(buf.getvalue()) - len(f"Version 3.1\n# namespace {o.namespace}\n".encode())
            if isinstance(entity, _codec.Record):
                sizes.append(n)
            else:
                header += n
        header += len(f"Version 3.1\n# namespace {o.namespace}\n# first-file\n".encode())
        disk = sum(f.stat().st_size for f in files)
        n = len(sizes)
        records = n
        with_cluster = Cluster(config)
        try:
            in_cluster = with_cluster.record_estimate(o.namespace, o.sets or None)
        finally:
            with_cluster.close()
        mean = sum(sizes) / n if n > 1 else 0.0
        variance = sum((x - mean) ** 2 for x in sizes) / (n - 1) if n > 1 else 0.0
        upper = 0 if n <= 1 else math.ceil(mean + _z(1e-6) * math.sqrt(variance / n))
        ratio = disk / (sum(sizes) + header) if sizes else 1.0
        z_total = _z(0.001 / max(in_cluster, 1))
        total = header + math.ceil(in_cluster * (ratio * mean + (z_total * math.sqrt(variance / n) if n > 1 else 0)))
        report.estimate = Estimate(records, in_cluster, upper, ratio, total)
        if o.layers.compress:
            log.info("Estimated overall record size before compression is %d byte(s)", upper)
            log.info("Approximate compression ratio is %g%%", 100 * ratio)
        else:
            log.info("Estimated overall record size is %d byte(s)", upper)
        log.info("Estimated total backup file size (for backup-to-file, 99.9%% confidence): %d byte(s)", total)
        return CommandResult("backup", report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _drop_uncommitted_files(o: BackupOptions, state: dict[str, Any]) -> None:
    """Files made after the last saved state hold records it does not count: remove them."""
    if not o.directory:
        return
    known = {os.path.abspath(f["name"]) for f in state["files"]}
    for p in Path(o.directory).iterdir():
        if p.name.endswith(".asb") and os.path.abspath(p) not in known:
            log.info("removing %s: written after the last saved state", p)
            p.unlink()


def _fill_from_files(report: BackupReport, files: list[dict[str, Any]]) -> None:
    report.files = [
        BackupFile(f["name"], f["records"], f["bytes"], f["sha256"].hex() if f["sha256"] else None) for f in files
    ]
    report.records = sum(f["records"] for f in files)
    report.bytes = sum(f["bytes"] for f in files)
    report.text_bytes = sum(f["text_bytes"] for f in files)


# ---------------------------------------------------------------- command line


def add_arguments(p: Any) -> None:
    """asbackup's flags, short and long, with its defaults."""
    from ._cluster_options import add_connection_options, add_layer_options

    add_connection_options(p)
    g = p.add_argument_group("what")
    g.add_argument("-n", "--namespace", required=False, help="the namespace to back up (required)")
    g.add_argument("-s", "--set", dest="sets", metavar="SETS", help="only these sets (comma-separated; default all)")
    g.add_argument("-B", "--bin-list", metavar="BINS", help="only these bins (comma-separated)")
    g.add_argument("-x", "--no-bins", action="store_true", help="records' metadata only, no bins")
    g.add_argument("-R", "--no-records", action="store_true", help="no records: indexes and UDFs only")
    g.add_argument("-I", "--no-indexes", action="store_true", help="no secondary index definitions")
    g.add_argument("-u", "--no-udfs", action="store_true", help="no UDF modules")
    g.add_argument("-M", "--max-records", type=int, default=0, metavar="N", help="about N records at most (0: all)")
    g.add_argument("-e", "--estimate", action="store_true", help="estimate the backup's size from a sample; write nothing")
    g.add_argument("--estimate-samples", type=int, default=10_000, metavar="N", help="records in the sample (default 10000)")
    g = p.add_argument_group("where")
    g.add_argument("-d", "--directory", metavar="DIR", help="write <prefix>_NNNNN.asb files into DIR")
    g.add_argument("-o", "--output-file", metavar="FILE", help="write one file (- for stdout)")
    g.add_argument("-q", "--output-file-prefix", metavar="PREFIX", help="file name prefix (default: the namespace)")
    g.add_argument("-F", "--file-limit", type=int, default=250, metavar="MiB", help="start a new file past this size (default 250)")
    g.add_argument("-r", "--remove-files", action="store_true", help="remove the .asb files already in DIR, or FILE")
    g.add_argument("--remove-artifacts", action="store_true", help="only remove what a backup to DIR or FILE left, then stop")
    g.add_argument("-c", "--continue", dest="continue_from", metavar="STATE", help="continue the interrupted backup saved in STATE")
    g.add_argument("--state-file-dst", metavar="PATH", help="where an interrupted backup saves its state")
    g = p.add_argument_group("incremental")
    g.add_argument("-a", "--modified-after", metavar="TIME", help="records written at or after TIME (YYYY-MM-DD[_HH:MM:SS] or HH:MM:SS, local)")
    g.add_argument("-b", "--modified-before", metavar="TIME", help="records written before TIME")
    g.add_argument("--no-ttl-only", action="store_true", help="only records that never expire")
    g.add_argument("-f", "--filter-exp", metavar="B64", help="base64 of a packed filter expression")
    g.add_argument("-X", "--partition-list", metavar="LIST", help="partitions: begin[-count] or base64 digests, comma-separated")
    g.add_argument("-D", "--after-digest", metavar="B64", help="from this digest's partition, after the digest, to the end")
    g.add_argument("-l", "--node-list", metavar="HOSTS", help="the partitions these nodes master (host:port,…)")
    g = p.add_argument_group("speed")
    g.add_argument("-w", "--parallel", type=int, metavar="N", help="partition ranges scanned at once (default 1; 16 with -l)")
    g.add_argument("-L", "--records-per-second", type=int, default=0, metavar="N", help="scan at most N records/s (0: no limit)")
    g.add_argument("-N", "--nice", type=int, default=0, metavar="MiB/s", help="write at most this many MiB/s")
    g = p.add_argument_group("file format")
    g.add_argument("-C", "--compact", action="store_true", help="blobs as raw bytes, not base64")
    add_layer_options(p)


def options_from(args: Any) -> tuple[ClusterConfig, BackupOptions]:
    from ._cluster_options import cluster_config_from, layers_from

    if not args.namespace and not args.remove_artifacts:
        raise ValueError("-n/--namespace is required")
    return cluster_config_from(args), BackupOptions(
        namespace=args.namespace or "",
        directory=args.directory,
        output_file=args.output_file,
        output_file_prefix=args.output_file_prefix,
        file_limit=args.file_limit,
        remove_files=args.remove_files,
        remove_artifacts=args.remove_artifacts,
        sets=_split_sets(args.sets),
        bin_list=[b for b in (args.bin_list or "").split(",") if b],
        no_bins=args.no_bins,
        no_records=args.no_records,
        no_indexes=args.no_indexes,
        no_udfs=args.no_udfs,
        max_records=args.max_records,
        modified_after=args.modified_after,
        modified_before=args.modified_before,
        no_ttl_only=args.no_ttl_only,
        filter_exp=args.filter_exp,
        partition_list=args.partition_list,
        after_digest=args.after_digest,
        node_list=args.node_list,
        parallel=args.parallel,
        records_per_second=args.records_per_second,
        nice=args.nice,
        compact=args.compact,
        layers=layers_from(args),
        max_retries=args.max_retries,
        sleep_between_retries=args.sleep_between_retries,
        continue_from=args.continue_from,
        state_file_dst=args.state_file_dst,
        estimate=args.estimate,
        estimate_samples=args.estimate_samples,
    )


def render(result: CommandResult[BackupReport]) -> str:
    r = result.data
    if r.estimate is not None:
        e = r.estimate
        return (
            f"estimate from {e.samples:,} sampled records of {e.records:,}: about {e.record_bytes:,} bytes a record, "
            f"{e.total_bytes:,} bytes in all" + (f" ({100 * e.compression_ratio:.1f}% after the layers)" if e.compression_ratio < 0.999 else "")
        )
    lines = []
    if len(r.files) > 1:
        lines += [f"  {f.name}: {f.records:,} records, {f.bytes:,} bytes" for f in r.files]
    lines.append(
        f"{'wrote' if result.ok else 'wrote before stopping'} {len(r.files)} file(s): {r.records:,} records, "
        f"{r.indexes} index(es), {r.udfs} UDF(s), {r.bytes:,} bytes in {r.duration_seconds:.2f} s"
        + (f"; manifest {r.manifest}" if r.manifest else "")
        + (f"; state saved in {r.state_file}" if r.state_file else "")
    )
    return "\n".join(lines)


def _add_all_arguments(p: Any) -> None:
    p.add_argument("-V", "--version", action="version", version=TOOL)
    add_arguments(p)
    g = p.add_argument_group("output of asbkit")
    g.add_argument("--output", choices=["text", "json"], default="text", help="result format (default text)")
    g.add_argument("--no-progress", action="store_true", help="no live display even on a terminal")
    g.add_argument("-v", "--verbose", action="store_true", help="more log lines")


def run(args: Any) -> CommandResult[BackupReport]:
    from ._options import OptionError

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname).3s %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S %Z",
    )
    try:
        config, options = options_from(args)
    except (AsbError, ValueError) as exc:
        raise OptionError(exc) from None
    result = backup(config, options, progress=False if args.no_progress else None)
    if not options.remove_artifacts and not options.estimate:
        # asbackup's last line, which operators' scripts parse.
        print(result.data.summary_line(), file=sys.stderr)
    return result


HELP = "back up a namespace of a live cluster into .asb files (asbackup's flags)"


def _stdout_data(args: Any) -> bool:
    return getattr(args, "output_file", None) == "-"


def _command() -> Any:
    from ._options import Command

    return Command(
        "backup", HELP, _add_all_arguments, run, render, description=HELP,
        help_flags=("--help", "-Z", "--usage"), data_on_stdout=_stdout_data,
    )


COMMANDS = (_command(),)

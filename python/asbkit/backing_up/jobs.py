"""The jobs of a backup and their retries.

`plan_jobs` cuts the partitions to read into jobs, as asbackup does (`-X`, `-D`, `-l`,
`--parallel`); `JobRunner.run` runs one job on its own thread. A job reads each partition
from the node that holds it now: its master (on a first try with `--prefer-racks`, a
replica on a preferred rack), its partitions grouped by node. The Rust wire layer writes
the records into the output and commits how far each partition got (last digest, records)
into the checkpoint; records received before an error stay written and committed.

Nodes leave and partitions migrate while a backup runs: after a retryable error, or with
partitions that have no master, the job reads the partition map again and retries the
unfinished partitions from their current masters, each strictly after its last committed
digest: no record twice, none skipped.
A round that reads nothing counts against `--max-retries`; one that reads anything resets
the count, so node losses cost tries only while nothing can be read.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import asbkit._codec as _codec

from ..cluster.client import Cluster, Node, parse_hosts
from ..cluster.partitions import N_PARTITIONS, PartitionRange, after_digest_range, jobs_for, parse_partition_list
from ..errors import AsbClusterError, BackupFailed, BadOption, Interrupted, cluster_error
from .options import BackupOptions

log = logging.getLogger("asbkit.backup")


@dataclass
class ScanJob:
    number: int
    pids: list[int]
    #: --max-records share (0: none).
    quota: int = 0


#: The least rate a node paces a scan at: it sleeps at most 10 ms a record (the server's
#: query throttle), so a scan asked for less runs at about 100 records/s all the same.
NODE_PACE_FLOOR = 100


class RecordRate:
    """-L/--records-per-second: the whole backup's rate, asked of the nodes (each paces its
    scan, as asbackup has them do). Each job running gets a share by the partitions it had
    to read, so the jobs end together; a job that ends leaves its share to the others.

    A job reads its nodes at once, its share split among their scans by partitions, while
    those stay above what a node can pace; below, it reads them one after the other at its
    share, as asbackup does, and `plan_jobs` runs no more jobs than the rate can pace.
    Should a scan's share still fall below, it waits until the rate has room for it.

    The rate is kept by the nodes alone: a second pace in the client would wait again for
    records a node had already paced (it sends them in chunks of about 1 MiB), halving it."""

    def __init__(self, per_second: int, partitions: dict[int, int], nodes: int, cancelled: Callable[[], bool]) -> None:
        self.per_second = per_second
        self._cancelled = cancelled
        self._room = threading.Condition()
        #: The partitions each job running had to read.
        self._weights = {job: n for job, n in partitions.items() if n}
        #: Records per second granted to the scans running.
        self._granted = 0
        self.nodes_at_once = not per_second or per_second // max(1, len(self._weights) * nodes) >= NODE_PACE_FLOOR

    def ended(self, job: int) -> None:
        with self._room:
            self._weights.pop(job, None)
            self._room.notify_all()

    @contextlib.contextmanager
    def scan(self, job: int, partitions: int, of_round: int) -> Iterator[int]:
        """Held while a scan of `partitions` of the `of_round` a job reads at once runs:
        its records per second (0: no limit)."""
        if not self.per_second:
            yield 0
            return
        with self._room:
            while True:
                weight = self._weights.get(job, 1)
                share = self.per_second * weight / max(weight, sum(self._weights.values()))
                if self.nodes_at_once:
                    share = share * partitions / max(1, of_round)
                rps = max(min(NODE_PACE_FLOOR, self.per_second), int(share))
                if not self._granted or self._granted + rps <= self.per_second or self._cancelled():
                    break
                self._room.wait(0.1)
            self._granted += rps
        try:
            yield rps
        finally:
            with self._room:
                self._granted -= rps
                self._room.notify_all()


def plan_jobs(cluster: Cluster, o: BackupOptions) -> tuple[list[ScanJob], dict[int, bytes]]:
    """The jobs and the digests some partitions start after."""
    after: dict[int, bytes] = {}
    if o.node_list or o.partitions:
        if o.partitions:
            pids = sorted(set(o.partitions))
        else:
            wanted = {(h[0], h[1]) for h in parse_hosts(o.node_list or "")}
            masters = cluster.stable_partition_masters(o.namespace, timeout=10)
            pids = sorted(p for p, n in masters.items() if (n.address, n.port) in wanted)
            known = {(n.address, n.port) for n in cluster.nodes()}
            missing = wanted - known
            if missing:
                raise BadOption(f"-l/--node-list: {', '.join(f'{h}:{p}' for h, p in sorted(missing))} is not a node of the cluster")
        n = max(1, min(_paced(o, o.parallel or (16 if o.node_list else 1)), len(pids)))
        chunks = [pids[len(pids) * i // n : len(pids) * (i + 1) // n] for i in range(n)]
        jobs = [ScanJob(i, c) for i, c in enumerate(chunks) if c]
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
        jobs = [ScanJob(i, r.pids) for i, r in enumerate(jobs_for(ranges, _paced(o, o.parallel or 1)))]
    if o.max_records:
        share = -(-o.max_records // len(jobs))
        for j in jobs:
            j.quota = share
    return jobs, after


def _paced(o: BackupOptions, parallel: int) -> int:
    """No more jobs than -L can pace: each reads at least what a node paces a scan at."""
    most = max(1, o.records_per_second // NODE_PACE_FLOOR) if o.records_per_second else parallel
    if parallel > most:
        log.info("-L %d: %d jobs at once, not %d (a node paces a scan at no less than %d records/s)", o.records_per_second, most, parallel, NODE_PACE_FLOOR)
    return min(parallel, most)


@dataclass(frozen=True)
class ScanOrder:
    """One node's scan as the codec takes it (`_codec.scan_partitions`): the node and its
    partitions, the selection, the limits, and how often its file is committed."""

    addr: str
    partitions: list[int]
    namespace: str
    set: str | None
    bins: list[str]
    no_bins: bool
    #: Records this scan may write at most (0: no cap); records/s asked of the node (0: any).
    max_records: int
    records_per_second: int
    total_timeout_ms: int
    #: The `--filter-exp` expression, base64-decoded (its wire form).
    filter_exp: bytes | None
    compact: bool
    commit_every: timedelta
    commit_bytes: int


class JobRunner:
    """Runs the jobs of one backup (`run`, from any thread) into one output and checkpoint."""

    def __init__(
        self,
        cluster: Cluster,
        o: BackupOptions,
        output: Any,
        ckpt: Any,
        filter_exp: bytes | None,
        first_file_job: bool,
        jobs: list[ScanJob],
        commit_bytes: int = 32 << 20,
    ) -> None:
        self.cluster = cluster
        self.o = o
        self.output = output
        self.ckpt = ckpt
        self.first_file_job = first_file_job
        #: -L shared among the scans (the partitions each job has left to read).
        left = {j.number: sum(1 for p in j.pids if not ckpt.partition(p).done) for j in jobs}
        self.rate = RecordRate(o.records_per_second, left, len(cluster.nodes()), ckpt.cancelled)
        #: Every scan's order but its node, partitions and limits. Its files commit at least
        #: every `commit_bytes` of text: an object's part size, so parts go up (and become
        #: durable) as soon as one is full.
        self.order = ScanOrder(
            addr="", partitions=[], namespace=o.namespace, set=o.sets[0] if len(o.sets) == 1 else None,
            bins=list(o.bin_list), no_bins=o.no_bins, max_records=0, records_per_second=0,
            total_timeout_ms=cluster.config.total_timeout_ms, filter_exp=filter_exp, compact=o.compact,
            commit_every=timedelta(seconds=o.checkpoint_seconds), commit_bytes=commit_bytes,
        )
        self.access = cluster.wire_access()
        #: Index and UDF definitions, written by job 0 into the first file.
        self.metadata: list[Any] = []
        self._map_lock = threading.Lock()
        self._readers: dict[int, Node] = {}
        self._map_time = 0.0

    def readers(self, refresh: bool = False) -> dict[int, Node]:
        """Where to read each partition: the preferred racks' replicas on a first try
        (--prefer-racks), masters on retries."""
        with self._map_lock:
            if refresh or not self._readers or time.monotonic() - self._map_time > 5:
                racks = self.cluster.config.prefer_racks if not refresh else []
                self._readers = self.cluster.partition_readers(self.o.namespace, racks)
                self._map_time = time.monotonic()
            return self._readers

    def _scan_node(self, job: int, node: Node, pids: list[int], of_round: int, out_job: Any, quota: int) -> _codec.ScanResult:
        with self.rate.scan(job, len(pids), of_round) as rps:
            log.debug("scanning %s on node %s (%s)%s", describe_pids(pids), node.name, node.addr, f" at {rps} records/s" if rps else "")
            return self._scan(node, pids, out_job, quota, rps)

    def _scan(self, node: Node, pids: list[int], out_job: Any, quota: int, rps: int) -> _codec.ScanResult:
        order = replace(self.order, addr=node.addr, partitions=pids, max_records=quota, records_per_second=rps)
        return _codec.scan_partitions(self.output, out_job, self.ckpt, order, self.access)

    def _scan_nodes(self, job: int, groups: list[tuple[Node, list[int]]], out_job: Any, quotas: list[int]) -> list[_codec.ScanResult]:
        """Scans every node's partitions at once, as the C client does: the first node into
        the job's file, the others each into a file of their own (parked or new); one after
        the other into the job's file when -L is cut too thin for that (RecordRate)."""
        if not groups:
            return []  # no partition has a reader now: the round reads nothing
        of_round = sum(len(pids) for _, pids in groups)
        if len(groups) == 1 or not self.rate.nodes_at_once:
            return [self._scan_node(job, node, pids, of_round, out_job, q) for (node, pids), q in zip(groups, quotas, strict=True)]
        from concurrent.futures import ThreadPoolExecutor

        files = [out_job] + [self.output.job() for _ in groups[1:]]
        try:
            with ThreadPoolExecutor(len(groups), thread_name_prefix="node") as pool:
                futures = [pool.submit(self._scan_node, job, node, pids, of_round, f, q) for (node, pids), f, q in zip(groups, files, quotas, strict=True)]
                return [f.result() for f in futures]
        finally:
            for f in files[1:]:
                f.release(self.output, self.ckpt)

    def run(self, job: ScanJob) -> bool:
        """Runs one job; whether it read all it had to (False: stopped by a request)."""
        out_job = self.output.job(first_file=self.first_file_job and job.number == 0)
        try:
            if self.first_file_job and job.number == 0:
                for entity in self.metadata:
                    out_job.write(self.output, entity)
            if self.o.no_records:
                return True
            desc = job_description(job.pids)
            log.info("Starting backup for %s", desc)
            finished, records, size = self._read(job, out_job)
            per = size // records if records else 0
            if finished:
                log.info("Completed backup for %s, records: %d, size: %d (~%d B/rec)", desc, records, size, per)
            else:
                log.info("Backup of %s interrupted, records: %d, size: %d (~%d B/rec)", desc, records, size, per)
            return finished
        finally:
            self.rate.ended(job.number)
            out_job.release(self.output, self.ckpt)

    def _read(self, job: ScanJob, out_job: Any) -> tuple[bool, int, int]:
        """Reads the job's partitions until done, stopped, or out of retries: (finished,
        records, text bytes)."""
        o = self.o
        pending = [p for p in job.pids if not self.ckpt.partition(p).done]
        fruitless = 0
        taken = size = 0
        refresh = False
        last_error: AsbClusterError | None = None
        while pending:
            if self.ckpt.cancelled():
                return False, taken, size
            readers = self.readers(refresh)
            by_node: dict[Node, list[int]] = {}
            for pid in pending:
                node = readers.get(pid)
                if node is not None:
                    by_node.setdefault(node, []).append(pid)
            groups = list(by_node.items())
            shares = [0] * len(groups)
            if job.quota:
                left = job.quota - taken
                if left <= 0:
                    return True, taken, size
                shares = [-(-left // max(1, len(groups)))] * len(groups)
            results = self._scan_nodes(job.number, groups, out_job, shares)
            for (_, pids), res in zip(groups, results, strict=True):
                taken += res.records
                size += res.text_bytes
                err = res.error
                if err is None:
                    continue
                if isinstance(err, Interrupted):
                    return False, taken, size
                where = describe_pids(pids)
                if not isinstance(err, AsbClusterError):
                    raise err  # BackupOutputFailed: the files, not the cluster
                if not err.retryable:
                    partition = err.partition if err.partition is not None else pids[0] if len(pids) == 1 else None
                    raise cluster_error(f"{err} (reading {where})", err.node, err.result_code, err.retryable, partition)
                last_error = err
                log.info("retrying %s: %s", where, err)
            if job.quota and taken >= job.quota:
                return True, taken, size
            pending = [p for p in pending if not self.ckpt.partition(p).done]
            if not pending:
                break
            # Progress resets the count: a node lost mid-scan costs tries only while
            # nothing can be read. This job's own records: other jobs reading says
            # nothing about these partitions.
            fruitless = 0 if any(res.records for res in results) else fruitless + 1
            if fruitless > o.max_retries:
                reason = str(last_error) if last_error else "no node masters them (the cluster is changing, or a node is down)"
                raise BackupFailed(
                    f"{describe_pids(pending)} could not be read after {o.max_retries} retries: {reason}; "
                    "the backup state is saved, continue with -c/--continue once the cluster is whole"
                )
            delay = max(o.sleep_between_retries / 1000, min(0.25 * 2 ** (fruitless - 1), 2.0)) if fruitless else 0.05
            if not self._pause(delay):
                return False, taken, size
            refresh = True
        return True, taken, size

    def _pause(self, seconds: float) -> bool:
        """Sleeps between tries, waking for a stop request; False when one came."""
        until = time.monotonic() + seconds
        while not self.ckpt.cancelled():
            left = until - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.05))
        return False


def job_description(pids: list[int]) -> str:
    """A job's partitions as asbackup names them in its log: `partition 7`, `4096
    partitions from 0 to 4095`, else as describe_pids lists them."""
    if len(pids) == 1:
        return f"partition {pids[0]}"
    if pids == list(range(pids[0], pids[0] + len(pids))):
        return f"{len(pids)} partitions from {pids[0]} to {pids[-1]}"
    return describe_pids(pids)


def describe_pids(pids: list[int]) -> str:
    """`partition 7`, or `partitions 0-99, 200 (101 in all)` (the first eight ranges)."""
    if len(pids) == 1:
        return f"partition {pids[0]}"
    ranges = []
    start = prev = pids[0]
    ends: list[int | None] = [*pids[1:], None]
    for p in ends:
        if p is not None and p == prev + 1:
            prev = p
            continue
        ranges.append(f"{start}" if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    shown = ", ".join(ranges[:8]) + (", …" if len(ranges) > 8 else "")
    return f"partitions {shown} ({len(pids)} in all)"


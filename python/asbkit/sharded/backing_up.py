"""One backup run on a Dask cluster: the partitions planned into shards (balanced by size,
grouped by the node that masters them), each shard a task that backs up its partitions
with the single-host engine into the shared directory (local, mounted by every worker, or
`s3://`) under its own file prefix, and one manifest over every shard's files.

Resumption, at two levels:
- a shard saves its state as any backup does (`<prefix>-sNNNN.asb.state`); a worker lost
  mid-shard has its task rerun by Dask elsewhere, and the rerun continues from that state
  (records after the last commit are cut off and read again: none twice); a shard whose
  manifest (`<prefix>-sNNNN.manifest.json`) is there is finished and never redone;
- the driver saves the plan as the backup's state (`<prefix>.asb.state`) before the first
  task: killed, `-c` that state with the same arguments runs the shards again, each going
  on from where it stands.
At the end the shards' manifests are replaced by the backup's one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backing_up import state as state_file
from ..backing_up import target
from ..backing_up.options import BackupOptions, check_options, fingerprint
from ..backing_up.report import BackupReport, ShardReport
from ..backing_up.run import TOOL, check_same_options, fill_from_files, set_up_store
from ..backing_up.run import backup as backup_one
from ..cluster.client import Cluster, ClusterConfig, Hosts
from ..control import BackupProgress, Cancel
from ..errors import AsbError, BackupFailed, BadOption, DaskFailed, Interrupted, NamespaceNotFound, carrying_report
from ..io import places
from ..io.manifest import files_from_json, files_to_json, now_iso, write_manifest
from ..spec import with_values
from . import engine
from .plan import Shard, balance, plan_shards, plan_slices

log = logging.getLogger("asbkit.backup")

SHARDED_FORMAT = state_file.SHARDED_FORMAT


@dataclass(frozen=True)
class ShardTask:
    """What a worker needs to run one shard."""

    run: str
    shard: Shard
    config: ClusterConfig
    #: The shard's own options: its prefix, partitions, the shared directory.
    options: BackupOptions


@dataclass
class ShardOutcome:
    """What a shard's task returns (never raises: the driver sums and reports)."""

    number: int
    worker: str | None
    files: list[dict[str, Any]]
    records: int = 0
    bytes: int = 0
    indexes: int = 0
    udfs: int = 0
    server: str | None = None
    seconds: float = 0.0
    continued: bool = False
    finished: bool = False
    #: Finished before (its manifest was there): not run again.
    already_done: bool = False
    interrupted: bool = False
    #: The error that stopped it: its class's code and words.
    error_code: str | None = None
    error: str | None = None


def shard_prefix(prefix: str, number: int) -> str:
    return f"{prefix}-s{number:04d}"


def shard_options(o: BackupOptions, shard: Shard, shards: int, at_once: int = 1) -> BackupOptions:
    """A shard's backup: its partitions under its own prefix in the shared directory; the
    index and UDF definitions only in shard 0's first file; its share of --max-records,
    and of -L among the `at_once` shards that run at the same time."""
    prefix = o.output_file_prefix or o.namespace
    first = shard.number == 0
    return dataclasses.replace(
        o,
        output_file_prefix=shard_prefix(prefix, shard.number),
        partitions=list(shard.pids),
        partition_list=None,
        shared_directory=True,
        no_indexes=o.no_indexes or not first,
        no_udfs=o.no_udfs or not first,
        max_records=-(-o.max_records // shards) if o.max_records else 0,
        records_per_second=max(1, o.records_per_second // max(1, min(at_once, shards))) if o.records_per_second else 0,
        nice=o.nice / max(1, min(at_once, shards)),
        continue_from=None,
        state_file_dst=None,
        remove_files=False,
    )


def run_shard(task: ShardTask) -> ShardOutcome:
    """Runs on a worker: the shard, finished already (its manifest is there), continued
    from its saved state (its last worker was lost, or the run is continued), or begun
    (anything a lost try left under its prefix is replaced). Never raises: the outcome
    carries the error."""
    o = task.options
    outcome = ShardOutcome(task.shard.number, engine.worker_address(), [])
    try:
        set_up_store(o)
        with engine.exclusive(f"asbkit-shard-{o.directory}/{o.output_file_prefix}"):
            _run_shard(task, outcome)
    except (AsbError, OSError) as exc:
        outcome.interrupted = isinstance(exc, Interrupted)
        outcome.error_code = getattr(exc, "code", "io_error")
        outcome.error = str(exc)
    return outcome


def _run_shard(task: ShardTask, outcome: ShardOutcome) -> None:
    o = task.options
    manifest, state = target.manifest_path(o), target.state_path(o)
    assert manifest is not None and state is not None
    if places.exists(manifest):
        _from_manifest(outcome, manifest, o)
        outcome.already_done = True
        return
    resume = places.exists(state)
    outcome.continued = resume
    run_o = dataclasses.replace(o, continue_from=state if resume else None, remove_files=not resume)
    started = time.monotonic()
    with engine.TaskChannel(task.run, task.shard.number) as channel:

        def progress(p: BackupProgress) -> None:
            channel.progress({"records": p.records, "text_bytes": p.text_bytes, "continued_from": p.continued_from})

        report = BackupReport(namespace=o.namespace)
        try:
            report = backup_one(task.config, run_o, on_progress=progress, cancel=channel.cancel, _sample=True)
        except (AsbError, OSError) as exc:
            report = getattr(exc, "report", None) or report
            outcome.records, outcome.bytes = report.records, report.bytes
            raise
        finally:
            outcome.seconds = time.monotonic() - started
            channel.progress({"records": report.records, "text_bytes": report.text_bytes, "continued_from": 0, "done": True}, force=True)
    _from_manifest(outcome, manifest, o)


def _from_manifest(outcome: ShardOutcome, manifest: str, o: BackupOptions) -> None:
    """A finished shard, as its manifest gives it."""
    doc = json.loads(places.read_text(manifest))
    outcome.files = [{**f, "name": places.join(o.directory or "", f["name"])} for f in doc["files"]]
    totals = doc["totals"]
    outcome.records, outcome.bytes, outcome.indexes, outcome.udfs = totals["records"], totals["bytes"], totals["indexes"], totals["udfs"]
    outcome.server = doc.get("server")
    outcome.finished = True


def check_dask_options(o: BackupOptions) -> None:
    """What a backup on Dask cannot do (yet), refused in words (BadOption)."""
    if not o.directory:
        raise BadOption("--dask writes a directory (-d; one every worker mounts, or s3://): the shards cannot share one -o file")
    for flag, value in (("-l/--node-list", o.node_list), ("-D/--after-digest", o.after_digest), ("-e/--estimate", o.estimate)):
        if value:
            raise BadOption(f"--dask cannot be combined with {flag}; run it without --dask")
    if o.partition_list and any(len(item.strip()) == 28 for item in o.partition_list.split(",")):
        raise BadOption("--dask takes -X partition ranges, not digests; run it without --dask")


def _plan(cluster: Cluster, o: BackupOptions, shards: int, paced: bool = False) -> list[Shard]:
    from ..cluster.partitions import parse_partition_list

    namespaces = cluster.namespaces()
    if o.namespace not in namespaces:
        raise NamespaceNotFound(f"namespace {o.namespace!r} is not on the cluster (it has: {', '.join(namespaces) or 'none'}); check -n/--namespace")
    masters = cluster.stable_partition_masters(o.namespace, timeout=10)
    counts = cluster.object_counts(o.namespace, o.sets or None)
    per_node: dict[str, int] = {}
    for node, objects, master_objects, rf in counts:
        per_node[node.name] = objects // max(1, rf) if o.sets else master_objects
    pids = None
    if o.partition_list:
        pids = [p for r in parse_partition_list(o.partition_list) for p in r.pids]
    return (plan_slices if paced else plan_shards)({pid: n.name for pid, n in masters.items()}, per_node, shards, pids)


def _save_plan(path: str, o: BackupOptions, shards: list[Shard]) -> None:
    doc = {
        "format": SHARDED_FORMAT,
        "version": 1,
        "namespace": o.namespace,
        "layers": o.layers.describe(),
        "arguments": fingerprint(o),
        "shards": [{"number": s.number, "node": s.node, "estimate": s.estimate, "pids": s.pids} for s in shards],
        "saved": now_iso(),
        "tool": TOOL,
    }
    places.write_text(path, json.dumps(doc))


def _load_plan(path: str, o: BackupOptions) -> list[Shard]:
    doc = state_file.read_state(path)
    if not isinstance(doc, dict) or doc.get("format") != SHARDED_FORMAT:
        raise BackupFailed("this state is of a backup run on one host: continue it without --dask", path=path)
    check_same_options(doc, o, path)
    return [Shard(s["number"], s["pids"], s["node"], s["estimate"]) for s in doc["shards"]]


def _remove_stale_shards(o: BackupOptions) -> None:
    """A new run starts clean: shard states and manifests an earlier run left under this
    prefix (their files are gone) would otherwise be taken as this run's."""
    prefix = o.output_file_prefix or o.namespace
    pattern = re.compile(re.escape(prefix) + r"-s\d{4}(\.asb\.state|\.manifest\.json)$")
    for name in places.names_in(o.directory or ""):
        if pattern.match(places.basename(name)):
            log.info("removing %s: left by an earlier run", name)
            places.remove(name)


def backup(
    client: Any,
    cluster: ClusterConfig | Hosts,
    options: BackupOptions | None = None,
    *,
    shards: int | None = None,
    on_progress: Callable[[BackupProgress], None] | None = None,
    cancel: Cancel | None = None,
    **option_values: Any,
) -> BackupReport:
    """`asbkit.backup` on a Dask cluster (`client`: a `distributed.Client`): one backup in
    the shared directory `options.directory` (local, mounted at the same path by every
    worker, or `s3://`), with one manifest. `shards`: how many (default: two per worker
    thread). Raises as `asbkit.backup` does, and DaskFailed when the Dask cluster cannot
    run it; an interrupted or failed run's report names the state to continue from
    (`continue_from=`, with the same client or another)."""
    config = ClusterConfig.of(cluster)
    o = with_values(BackupOptions, options, option_values)
    report = BackupReport(namespace=o.namespace)
    started = time.monotonic()

    def stopped() -> None:
        report.duration_seconds = time.monotonic() - started
        if report.started():
            log.info("%s", report.summary_line())

    with carrying_report(report, on_error=stopped):
        check_options(o)
        if o.remove_artifacts:
            return backup_one(config, o)
        check_dask_options(o)
        if not places.is_url(o.directory or ""):
            o = dataclasses.replace(o, directory=os.path.abspath(o.directory or ""))
        set_up_store(o)
        workers = engine.check_workers(client)
        log.info("Starting backup of %s (namespace: %s) to %s on %d Dask worker(s)", o.node_list or config.describe(), o.namespace, o.directory, len(workers))
        plan_path = target.state_path(o)
        assert plan_path is not None
        if o.continue_from:
            plan = _load_plan(o.continue_from, o)
            plan_path = o.continue_from
        else:
            target.check_output_place(o, resuming=False)
            connected = Cluster(config)
            try:
                report.server_version = connected.build()
                threads = max(1, sum(client.nthreads().values()))
                # Paced by -L/-N: one shard a worker thread, all running at once, so they
                # share the rate evenly to the end (see plan_slices).
                paced = not shards and bool(o.records_per_second or o.nice)
                plan = _plan(connected, o, shards or (threads if paced else 2 * threads), paced)
            finally:
                connected.close()
            target.prepare_output_place(o, resuming=False)
            _remove_stale_shards(o)
        engine.check_shared(client, workers, o.directory or "", o.s3)
        if not o.continue_from:
            _save_plan(plan_path, o, plan)
        report.balance = balance(plan)
        report.shards = [ShardReport(s.number, s.node, len(s.pids), s.estimate) for s in plan]
        log.info("%d shard(s) of %d partition(s), balance %.2f (largest shard over the mean)", len(plan), sum(len(s.pids) for s in plan), report.balance)
        outcomes = _drive(client, config, o, plan, on_progress, cancel)
        _conclude(o, plan, outcomes, report, plan_path)
    report.duration_seconds = time.monotonic() - started
    log.info("%s", report.summary_line())
    return report


def _drive(
    client: Any, config: ClusterConfig, o: BackupOptions, plan: list[Shard],
    on_progress: Callable[[BackupProgress], None] | None, cancel: Cancel | None,
) -> dict[int, ShardOutcome]:
    """Runs every shard as a task; their outcomes (a task whose workers kept dying: an
    outcome with its error). The first failure stops the others (their states saved)."""
    events = engine.PieceEvents()
    estimate = sum(s.estimate for s in plan)
    at_once = max(1, sum(client.nthreads().values()))

    def tick() -> None:
        shards, busy = events.latest()
        if on_progress is not None and shards:
            on_progress(BackupProgress(
                sum(s["records"] for s in shards), sum(s["text_bytes"] for s in shards), estimate,
                sum(s["continued_from"] for s in shards), busy=busy,
            ))

    with engine.driver_channel(client, events.event) as (run, stop):
        tasks = [(f"asbkit-backup-{run}-shard-{s.number:04d}", ShardTask(run, s, config, shard_options(o, s, len(plan), at_once))) for s in plan]
        results = engine.run_tasks(
            client, run_shard, tasks, fails_run=lambda x: bool(x.error and not x.interrupted), cancel=cancel, tick=tick, stop=stop,
        )
    return {
        s.number: r if isinstance(r, ShardOutcome) else ShardOutcome(s.number, None, [], error_code="dask_failed", error=_task_error(r))
        for s, r in zip(plan, results, strict=True)
    }


def _task_error(exc: BaseException | None) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"every worker that ran it died ({exc}); the shard's state is kept"
    return f"{name}: {exc}"


def _conclude(o: BackupOptions, plan: list[Shard], outcomes: dict[int, ShardOutcome], report: BackupReport, plan_path: str) -> None:
    """One manifest over every shard's files; or, when a shard did not finish, the error
    (the plan and the shards' states are kept: continue with -c)."""
    for s, shard_report in zip(plan, report.shards, strict=True):
        out = outcomes[s.number]
        shard_report.records, shard_report.bytes, shard_report.seconds = out.records, out.bytes, out.seconds
        shard_report.worker, shard_report.continued, shard_report.already_done = out.worker, out.continued, out.already_done
        how = " (finished before)" if out.already_done else " (continued)" if out.continued else ""
        log.info("shard %d (%d partitions, node %s) on %s: %d record(s), %.0f rec/s%s", s.number, len(s.pids), s.node, out.worker, out.records, shard_report.records_per_second, how)
    # Shard 0's first file holds the index and UDF definitions.
    report.indexes, report.udfs = outcomes[plan[0].number].indexes, outcomes[plan[0].number].udfs
    report.server_version = report.server_version or next((x.server for x in outcomes.values() if x.server), None)
    unfinished = [s.number for s in plan if not outcomes[s.number].finished]
    if unfinished:
        report.records = sum(x.records for x in outcomes.values())
        report.bytes = sum(x.bytes for x in outcomes.values())
        report.state_file = plan_path
        report.interrupted = True
        errors = [x for x in outcomes.values() if x.error and not x.interrupted]
        again = f"; the state is saved: continue with -c {plan_path} and the same arguments (with --dask)"
        if not errors:
            raise Interrupted(f"the backup was interrupted ({len(unfinished)} of {len(plan)} shard(s) unfinished){again}")
        first_error = min(errors, key=lambda x: x.number)
        also = f" ({len(errors) - 1} other shard(s) failed too)" if len(errors) > 1 else ""
        cls = DaskFailed if first_error.error_code == "dask_failed" else BackupFailed
        where = f" on worker {first_error.worker}" if first_error.worker else ""
        raise cls(f"shard {first_error.number}{where}: {first_error.error}{also}{again}")
    files = [f for s in plan for f in files_from_json(outcomes[s.number].files)]
    fill_from_files(report, files)
    manifest = target.manifest_path(o)
    assert manifest is not None
    write_manifest(
        manifest, namespace=o.namespace, files=files, options=fingerprint(o), server=report.server_version, tool=TOOL,
        indexes=report.indexes, udfs=report.udfs, layers=o.layers.describe(),
    )
    report.manifest = manifest
    # The shards' manifests and the plan: replaced by the backup's manifest.
    for s in plan:
        own = target.manifest_path(shard_options(o, s, len(plan)))
        if own and places.exists(own):
            places.remove(own)
    if places.exists(plan_path):
        places.remove(plan_path)


__all__ = ["ShardOutcome", "ShardTask", "backup", "files_to_json", "run_shard", "shard_options"]

"""Backups, restores and verifies run on Dask (`--dask`, `asbkit.sharded`): a LocalCluster of
worker processes against the three-node cluster (ASBKIT_TEST_CLUSTER, namespace `test`),
writing to a shared local directory and to the S3 test server. Every record exactly once,
whatever is killed: a worker process, the driver, an Aerospike node."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import asbkit
import asbkit.sharded
from asbkit import BackupOptions, ClusterConfig, RestoreOptions

from ..helpers.cluster_data import CLUSTER, CLUSTER_DIR, asb_files, load_bulk, needs_cluster, records_of, restart, split_addr, truncate

pytestmark = [pytest.mark.cluster, needs_cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
N = 40_000


@pytest.fixture(scope="module")
def s3(request: pytest.FixtureRequest) -> Any:
    """The S3 test server, started before the workers (they take its credentials from the
    environment they are started with); None when it cannot run here."""
    try:
        return request.getfixturevalue("s3_server")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="module")
def dask_cluster(s3: Any) -> Iterator[Any]:
    """Two single-threaded worker processes (not threads), as separate hosts would be."""
    distributed = pytest.importorskip("distributed", reason="the Dask tests need distributed (pip install '.[test]')")
    import dask

    # A killed worker's locks are let go within seconds (the default is 30 s).
    with dask.config.set({"distributed.scheduler.locks.lease-timeout": "3s", "distributed.scheduler.locks.lease-validation-interval": "1s"}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()


@pytest.fixture(scope="module")
def loaded(cluster_client: Any) -> set[bytes]:
    assert len(cluster_client.get_nodes()) == 3, "the test cluster should have three nodes"
    truncate(cluster_client, NS)
    load_bulk(cluster_client, NS, N)
    seen: set[bytes] = set()
    cluster_client.query(NS, None).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == N
    return seen


def seed() -> ClusterConfig:
    h, p = split_addr(CLUSTER or "")
    return ClusterConfig(hosts=h, port=p, socket_timeout_ms=2000)


def worker_pids(client: Any) -> dict[str, int]:
    return dict(client.run(os.getpid))


def test_a_backup_on_dask_holds_the_records_of_a_single_process_backup(dask_cluster: Any, loaded: set[bytes], tmp_path: Path) -> None:
    single = asbkit.backup(seed(), namespace=NS, directory=str(tmp_path / "one"), parallel=2)
    report = asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=str(tmp_path / "dask"))
    one, many = records_of(asb_files(tmp_path / "one")), records_of(asb_files(tmp_path / "dask"))  # each raises on a digest twice
    assert set(many) == set(one) == loaded
    assert report.records == single.records == N
    # One backup: shards under their own prefixes, one manifest over all of them, that
    # validate --deep checks as a whole; no shard manifest or state left.
    names = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert names == sorted([*(f.name for f in asb_files(tmp_path / "dask")), "test.manifest.json"]), names
    assert len({n.split("_")[0] for n in names if n.endswith(".asb")}) == len(report.shards) > 2
    manifest = json.loads((tmp_path / "dask" / "test.manifest.json").read_text())
    assert manifest["totals"]["records"] == N and manifest["totals"]["files"] == len(asb_files(tmp_path / "dask"))
    deep = asbkit.validate(str(tmp_path / "dask"), deep=True)
    assert deep.findings == 0 and deep.deep is not None and deep.deep.manifests == [str(tmp_path / "dask" / "test.manifest.json")], deep
    # Every worker ran shards; the plan is balanced (equal partition counts per node here).
    assert {s.worker for s in report.shards} == set(worker_pids(dask_cluster))
    assert report.balance is not None and report.balance < 1.3
    assert sum(s.records for s in report.shards) == N


def test_a_restore_and_verify_on_dask_agree(dask_cluster: Any, loaded: set[bytes], cluster_client: Any, tmp_path: Path) -> None:
    d = str(tmp_path / "bk")
    asbkit.sharded.backup(dask_cluster, seed(), namespace=NS, directory=d, file_limit=1)
    files = asb_files(d)
    assert len(files) > 4
    truncate(cluster_client, NS)
    report = asbkit.sharded.restore(dask_cluster, seed(), directory=d)
    assert report.records_read == N and report.inserted == N and report.failed == 0
    checked = asbkit.sharded.verify(dask_cluster, seed(), directory=d)
    assert checked.records_read == N and checked.same == N and checked.findings == 0
    # A record gone from the cluster: verify on Dask says which.
    gone = next(iter(records_of(files[:1])))
    cluster_client.remove((NS, None, None, bytearray(gone)))
    checked = asbkit.sharded.verify(dask_cluster, seed(), directory=d)
    assert checked.missing == 1 and checked.same == N - 1
    assert checked.differences[0].digest == __import__("base64").b64encode(gone).decode()
    # Restored again (-u: only what is missing is written), the cluster holds the backup.
    again = asbkit.sharded.restore(dask_cluster, seed(), directory=d, unique=True)
    assert again.inserted == 1 and again.existed == N - 1

"""What running on Dask costs: the same backup through a LocalCluster of two single-threaded
worker processes (shards of partitions as tasks, one manifest) against one process at the
same parallelism (-w 2), on the corpus of `test_bench_backup.py` (same server and loading).

On a 2-core machine more workers cannot add speed (the server shares the cores): this
measures the engine's overhead. Goal: the Dask run at most 15 % slower. Each shard's rate
and the planner's balance (largest shard over the mean) go into extra_info.

Run: `ASBKIT_BENCH_HOST=127.0.0.1:3000 ASBKIT_C_ASRESTORE=… python -m pytest
benches/test_bench_dask.py --benchmark-enable`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import asbkit

from .conftest import bench_addr
from .test_bench_backup import HOST, loaded  # noqa: F401 (the loaded corpus)
from .test_bench_backup import pytestmark as _backup_marks

pytestmark = _backup_marks


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _one(out: Path) -> asbkit.BackupReport:
    h, p = bench_addr()
    return asbkit.backup(f"{h}:{p}", namespace="test", directory=str(out), parallel=2, remove_files=True)


def _dask(client: Any, out: Path) -> asbkit.BackupReport:
    import asbkit.sharded

    h, p = bench_addr()
    return asbkit.sharded.backup(client, f"{h}:{p}", namespace="test", directory=str(out), remove_files=True)


def test_backup_in_one_process(benchmark: Any, loaded: int, tmp_path: Path) -> None:  # noqa: F811
    benchmark.pedantic(lambda: _one(tmp_path / "one"), rounds=3)
    benchmark.extra_info["krec_per_s_best"] = round(loaded / benchmark.stats.stats.min / 1000, 1)


def test_backup_on_dask(benchmark: Any, loaded: int, dask_client: Any, tmp_path: Path) -> None:  # noqa: F811
    reports: list[asbkit.BackupReport] = []
    benchmark.pedantic(lambda: reports.append(_dask(dask_client, tmp_path / "dask")), rounds=3)
    last = reports[-1]
    assert last.records == loaded
    benchmark.extra_info["krec_per_s_best"] = round(loaded / benchmark.stats.stats.min / 1000, 1)
    benchmark.extra_info["shards"] = len(last.shards)
    benchmark.extra_info["balance"] = round(last.balance or 0, 3)
    benchmark.extra_info["shard_krec_per_s"] = [round(s.records_per_second / 1000, 1) for s in last.shards]


def test_dask_cost_against_one_process_same_run(benchmark: Any, loaded: int, dask_client: Any, tmp_path: Path) -> None:  # noqa: F811
    """A B A B … (5 pairs): the ratio of each pair (Dask time over one process's), its median."""
    ratios = []

    def pairs() -> None:
        for _ in range(5):
            t0 = time.perf_counter()
            _one(tmp_path / "one")
            t1 = time.perf_counter()
            _dask(dask_client, tmp_path / "dask")
            t2 = time.perf_counter()
            ratios.append((t2 - t1) / (t1 - t0))

    benchmark.pedantic(pairs, rounds=1)
    benchmark.extra_info["dask_over_one_process"] = [round(r, 3) for r in ratios]
    benchmark.extra_info["median"] = round(statistics.median(ratios), 3)

"""-L (records/s) and -N (MiB/s) hold the rate asked, neither more nor less: each run lasts at
least 10 s and its measured rate is within ±10 % of what was asked, on one node
(ASBKIT_TEST_HOST) and on three (ASBKIT_TEST_CLUSTER), with -w 1 and -w 8, into a directory
and into one file, and on Dask (where both are shared among the shards running at once).

The nodes pace -L (each scan asks its share, as asbackup has them do); a second pace in the
client once waited again for what a node had already paced, halving the rate."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import asbkit
import asbkit.sharded
from asbkit import BackupOptions, BackupReport, ClusterConfig

from ..helpers.cluster_data import ASBACKUP, CLUSTER, HOST, fresh_set, split_addr

pytestmark = [pytest.mark.cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
SET = "rates"
#: Records in the set: 11 s at RATE.
N = 16_500
RATE = 1_500
#: Bytes per record's payload: about 10 MiB of text in all, 10 s at -N 1.
PAYLOAD = 560
TOLERANCE = 0.10
#: The measured rate must hold for at least this long.
LEAST_S = 10.0


@pytest.fixture(scope="module")
def one_node(host_client: Any) -> str:
    fresh_set(host_client, NS, SET, N, PAYLOAD)
    assert HOST
    return HOST


@pytest.fixture(scope="module")
def three_nodes(cluster_client: Any) -> str:
    assert len(cluster_client.get_nodes()) == 3, "the test cluster should have three nodes"
    fresh_set(cluster_client, NS, SET, N, PAYLOAD)
    assert CLUSTER
    return CLUSTER


def _timed_backup(seed: str, **options: Any) -> tuple[BackupReport, float]:
    h, p = split_addr(seed)
    start = time.monotonic()
    report = asbkit.backup(ClusterConfig(hosts=h, port=p), BackupOptions(namespace=NS, sets=[SET], **options))
    return report, time.monotonic() - start


def _assert_rate(what: str, amount: float, took: float, asked: float) -> None:
    rate = amount / took
    assert took >= LEAST_S, f"{what}: {took:.1f} s is too short to measure a rate"
    assert abs(rate - asked) <= asked * TOLERANCE, f"{what}: {rate:.0f}/s measured over {took:.1f} s, {asked:.0f}/s asked"


def _where(tmp_path: Path, into: str) -> dict[str, str]:
    return {"directory": str(tmp_path / "bk")} if into == "directory" else {"output_file": str(tmp_path / "one.asb")}


@pytest.mark.parametrize("parallel, into", [(1, "directory"), (8, "file")])
def test_records_per_second_on_one_node(one_node: str, tmp_path: Path, parallel: int, into: str) -> None:
    report, took = _timed_backup(one_node, parallel=parallel, records_per_second=RATE, **_where(tmp_path, into))
    assert report.records == N
    _assert_rate(f"-L {RATE} -w {parallel} into a {into}", report.records, took, RATE)


@pytest.mark.parametrize("parallel, into", [(1, "file"), (8, "directory")])
def test_records_per_second_on_three_nodes(three_nodes: str, tmp_path: Path, parallel: int, into: str) -> None:
    report, took = _timed_backup(three_nodes, parallel=parallel, records_per_second=RATE, **_where(tmp_path, into))
    assert report.records == N
    _assert_rate(f"-L {RATE} -w {parallel} into a {into} (three nodes)", report.records, took, RATE)


@pytest.mark.parametrize("parallel, into", [(1, "file"), (8, "directory")])
def test_mib_per_second_on_one_node(one_node: str, tmp_path: Path, parallel: int, into: str) -> None:
    report, took = _timed_backup(one_node, parallel=parallel, nice=1, **_where(tmp_path, into))
    assert report.records == N
    _assert_rate(f"-N 1 -w {parallel} into a {into}", report.bytes, took, 1 << 20)


def test_mib_per_second_on_three_nodes(three_nodes: str, tmp_path: Path) -> None:
    report, took = _timed_backup(three_nodes, parallel=4, nice=1, directory=str(tmp_path / "bk"), file_limit=1)
    assert report.records == N
    _assert_rate("-N 1 -w 4 into a directory of 1 MiB files (three nodes)", report.bytes, took, 1 << 20)


def test_records_per_second_on_dask(three_nodes: str, tmp_path: Path) -> None:
    from ..helpers.dask_cluster import local_dask

    h, p = split_addr(three_nodes)
    with local_dask(2, threads_per_worker=1) as client:
        start = time.monotonic()
        report = asbkit.sharded.backup(client, ClusterConfig(hosts=h, port=p), namespace=NS, sets=[SET], directory=str(tmp_path / "bk"), records_per_second=RATE)
        took = time.monotonic() - start
    assert report.records == N
    # One shard a worker thread, all at once: the rate is shared evenly to the end.
    assert len(report.shards) == 2
    _assert_rate(f"-L {RATE} on Dask (two workers)", report.records, took, RATE)


def test_mib_per_second_on_dask(three_nodes: str, tmp_path: Path) -> None:
    # -N 1 shared by two shards: half a MiB/s each (a share is no whole number of MiB/s).
    from ..helpers.dask_cluster import local_dask

    h, p = split_addr(three_nodes)
    with local_dask(2, threads_per_worker=1) as client:
        start = time.monotonic()
        report = asbkit.sharded.backup(client, ClusterConfig(hosts=h, port=p), namespace=NS, sets=[SET], directory=str(tmp_path / "bk"), nice=1)
        took = time.monotonic() - start
    assert report.records == N and len(report.shards) == 2
    _assert_rate("-N 1 on Dask (two workers)", report.bytes, took, 1 << 20)


@pytest.mark.skipif(not ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a C asbackup binary")
def test_c_asbackup_keeps_the_same_rate(one_node: str, tmp_path: Path) -> None:
    """The rate asbkit keeps is the one C asbackup keeps for the same -L (run side by side)."""
    h, p = split_addr(one_node)
    common = ["-h", h, "-p", str(p), "-n", NS, "-s", SET, "-L", str(RATE)]
    commands = {
        "C asbackup": [os.environ["ASBKIT_C_ASBACKUP"], *common, "-d", str(tmp_path / "c")],
        "asbkit backup": [sys.executable, "-m", "asbkit", "backup", *common, "-d", str(tmp_path / "a"), "--no-progress"],
    }
    start = time.monotonic()
    logs = {name: open(tmp_path / f"{i}.log", "w+") for i, name in enumerate(commands)}
    procs = {name: subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=logs[name]) for name, cmd in commands.items()}
    took: dict[str, float] = {}
    while len(took) < len(procs) and time.monotonic() - start < 120:
        for name, proc in procs.items():
            if name not in took and proc.poll() is not None:
                took[name] = time.monotonic() - start
        time.sleep(0.02)
    for name, proc in procs.items():
        logs[name].seek(0)
        assert proc.wait(timeout=5) == 0, logs[name].read()[-2000:]
        logs[name].close()
        _assert_rate(f"{name} -L {RATE}", N, took[name], RATE)

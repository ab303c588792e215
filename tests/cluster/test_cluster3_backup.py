"""`asbkit backup` on the three-node cluster at replication-factor 2 (ASBKIT_TEST_CLUSTER,
namespace `test`, truncated and reloaded): each partition from its master, every record
exactly once, node lists, and a node killed with SIGKILL in the middle of a backup.

The node kill needs ASBKIT_TEST_CLUSTER_DIR: the directory holding n1..n3 of cluster3.sh
(pid files and configs), to kill a node and start it again.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asbkit import BackupOptions, ClusterConfig, backup

from ..helpers.cluster_data import CLUSTER, CLUSTER_DIR, asb_files, kill_midway, load_bulk, needs_cluster, records_of, restart, split_addr, truncate
from ..helpers.results import result_of

pytestmark = [pytest.mark.cluster, needs_cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
N = 60_000


@pytest.fixture(scope="module")
def client(cluster_client: Any) -> Any:
    return cluster_client


@pytest.fixture(scope="module")
def loaded(client: Any) -> set[bytes]:
    assert len(client.get_nodes()) == 3, "the test cluster should have three nodes"
    truncate(client, NS)
    load_bulk(client, NS, N)
    return all_digests(client)


def all_digests(client: Any) -> set[bytes]:
    seen: set[bytes] = set()
    client.query(NS, None).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    return seen


def seed_config() -> ClusterConfig:
    h, p = split_addr(CLUSTER or "")
    return ClusterConfig(hosts=h, port=p, socket_timeout_ms=2000)


def test_every_record_exactly_once_from_the_masters(loaded: set[bytes], tmp_path: Path) -> None:
    assert len(loaded) == N
    result = result_of(backup, seed_config(), BackupOptions(namespace=NS, directory=str(tmp_path / "bk"), parallel=4))
    assert result.ok, result.errors
    recs = records_of(asb_files(tmp_path / "bk"))  # raises on a duplicate digest
    assert set(recs) == loaded
    assert result.data.records == N


def test_records_per_second_bounds_the_whole_backup_across_nodes_and_jobs(loaded: set[bytes], tmp_path: Path) -> None:
    # 4 jobs, each reading three nodes at once: -L is the rate of all twelve scans together.
    start = time.monotonic()
    result = result_of(backup, seed_config(), BackupOptions(namespace=NS, directory=str(tmp_path / "bk"), parallel=4, max_records=6000, records_per_second=2000))
    took = time.monotonic() - start
    assert result.ok, result.errors
    assert result.data.records >= 5000
    assert result.data.records / took <= 2000 * 1.1, f"{result.data.records} records in {took:.2f} s"


def test_node_lists_split_the_namespace_by_master(loaded: set[bytes], client: Any, tmp_path: Path) -> None:
    union: dict[bytes, str] = {}
    for i, node in enumerate(client.get_node_names()):
        d = tmp_path / f"n{i}"
        result = result_of(backup, seed_config(), BackupOptions(namespace=NS, directory=str(d), node_list=f"{node['address']}:{node['port']}"))
        assert result.ok, result.errors
        part = records_of(asb_files(d))
        assert part, f"node {node['node_name']} masters no record?"
        assert not set(part) & set(union), "a record came from two nodes"
        union.update(part)
    assert set(union) == loaded


@pytest.mark.skipif(not CLUSTER_DIR, reason="set ASBKIT_TEST_CLUSTER_DIR to cluster3.sh's node directory to kill a node")
@pytest.mark.parametrize("into", ["directory", "one file"])
def test_a_node_killed_mid_backup_loses_and_repeats_nothing(loaded: set[bytes], client: Any, tmp_path: Path, into: str) -> None:
    victim = Path(CLUSTER_DIR or "") / ("n2" if into == "directory" else "n3")
    where = {"directory": str(tmp_path / "bk")} if into == "directory" else {"output_file": str(tmp_path / "one.asb")}

    def run(report: Callable[[int], None]) -> Any:
        # Throttled (the server paces each scan) so the kill lands in the middle.
        return result_of(backup,
            seed_config(),
            BackupOptions(namespace=NS, parallel=3, records_per_second=6_000, max_retries=10, **where),
            on_progress=lambda p: report(p.records),
        )

    result, at_kill = kill_midway(victim, run, N // 5)
    try:
        assert 0 < at_kill < N, f"the kill came at {at_kill} of {N} records: not in the middle"
        assert result.ok, result.errors
        recs = records_of(asb_files(tmp_path / "bk") if into == "directory" else [tmp_path / "one.asb"])
        assert set(recs) == loaded
        assert result.data.records == N
    finally:
        restart(victim, client)


def test_a_backup_killed_on_three_nodes_continues_to_every_record_once(loaded: set[bytes], tmp_path: Path) -> None:
    """kill -9 of asbkit itself while it reads three nodes at once, then -c."""
    import json
    import sys

    h, p = split_addr(CLUSTER or "")
    d = tmp_path / "bk"
    state = d / "test.asb.state"
    cmd = [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-d", str(d), "-w", "2", "--no-progress"]
    proc = subprocess.Popen([*cmd, "-L", "8000"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if sum(f["records"] for f in json.loads(state.read_text())["files"]) >= N // 3:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, "the backup ended before it could be killed"
    proc.kill()
    proc.wait()
    done = subprocess.run([*cmd, "-c", str(state)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert set(records_of(asb_files(d))) == loaded

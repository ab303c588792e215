"""`asbkit restore` (and `verify`) on the three-node cluster at replication-factor 2
(ASBKIT_TEST_CLUSTER, namespace `test`, truncated and reloaded): every record written once,
to its master; a node killed with SIGKILL in the middle of a restore loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from asbkit import BackupOptions, ClusterConfig, RestoreOptions, backup, restore, verify
from asbkit.cluster.client import info_fields

from ..helpers.cluster_data import CLUSTER, CLUSTER_DIR, kill_midway, load_bulk, needs_cluster, restart, split_addr, truncate
from ..helpers.results import result_of

pytestmark = [pytest.mark.cluster, needs_cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
N = 60_000


@pytest.fixture(scope="module")
def client(cluster_client: Any) -> Any:
    return cluster_client


def seed_config() -> ClusterConfig:
    h, p = split_addr(CLUSTER or "")
    return ClusterConfig(hosts=h, port=p, socket_timeout_ms=2000)


@pytest.fixture(scope="module")
def source(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert len(client.get_nodes()) == 3, "the test cluster should have three nodes"
    truncate(client, NS)
    load_bulk(client, NS, N)
    out = tmp_path_factory.mktemp("src3") / "bk"
    r = result_of(backup, seed_config(), BackupOptions(namespace=NS, directory=str(out), parallel=3))
    assert r.ok and r.data.records == N, r.errors
    return out


def _proxied(client: Any) -> int:
    """Writes a node passed on to another node (they reached a node that is not the master)."""
    total = 0
    for _, (err, reply) in client.info_all(f"namespace/{NS}").items():
        stats = info_fields(reply or "")
        total += sum(int(stats.get(k, "0") or 0) for k in ("client_proxy_complete", "batch_sub_proxy_complete", "client_proxy_error", "batch_sub_proxy_error"))
    return total


def _masters_and_replicas(client: Any) -> tuple[int, int]:
    master = prole = 0
    for _, (err, reply) in client.info_all(f"namespace/{NS}").items():
        stats = info_fields(reply or "")
        master += int(stats.get("master_objects", "0"))
        prole += int(stats.get("prole_objects", "0"))
    return master, prole


def test_every_record_once_to_its_master(client: Any, source: Path, tmp_path: Path) -> None:
    truncate(client, NS)
    proxied = _proxied(client)
    r = result_of(restore, seed_config(), RestoreOptions(directory=str(source)))
    assert r.ok, r.errors
    assert (r.data.inserted, r.data.failed, r.data.retries) == (N, 0, 0)
    assert _proxied(client) == proxied, "a write went to a node that does not master its partition"
    assert _masters_and_replicas(client) == (N, N)
    v = result_of(verify, seed_config(), RestoreOptions(directory=str(source)))
    assert v.ok and (v.data.same, v.data.missing, v.data.different) == (N, 0, 0), v.errors


@pytest.mark.skipif(not CLUSTER_DIR, reason="set ASBKIT_TEST_CLUSTER_DIR to cluster3.sh's node directory to kill a node")
def test_a_node_killed_mid_restore_loses_nothing(client: Any, source: Path, tmp_path: Path) -> None:
    truncate(client, NS)
    victim = Path(CLUSTER_DIR or "") / "n2"

    def run(report: Callable[[int], None]) -> Any:
        return result_of(restore,
            seed_config(),
            RestoreOptions(directory=str(source), tps=10_000, max_retries=10, parallel=4),
            on_progress=lambda p: report(p.counts.read),
        )

    r, at_kill = kill_midway(victim, run, N // 4)
    try:
        assert 0 < at_kill < N, f"the kill came at {at_kill} of {N} records: not in the middle"
        assert r.ok, r.errors
        assert r.data.failed == 0 and r.data.retries >= 1
        # Writes the dead node took but never answered come back as "fresher" on retry.
        assert r.data.inserted + r.data.updated + r.data.fresher == N
        # Read back with two nodes of three: none missing, none different.
        v = result_of(verify, seed_config(), RestoreOptions(directory=str(source), max_retries=10))
        assert v.ok and (v.data.same, v.data.missing, v.data.different) == (N, 0, 0), v.errors
    finally:
        restart(victim, client)

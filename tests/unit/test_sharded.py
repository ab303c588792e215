"""The shard planner of the runs on Dask (no scheduler, no server), and that asbkit runs
without Dask installed. The engine's checks on a real scheduler are in tests/dask, the
--dask flags in tests/cli."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asbkit.sharded import balance, plan_shards, plan_slices

NODES = ["A", "B", "C"]


def test_shards_cover_every_partition_once_each_from_one_master() -> None:
    masters = {p: NODES[p % 3] for p in range(4096)}
    shards = plan_shards(masters, {"A": 30_000, "B": 60_000, "C": 30_000}, 8)
    pids = sorted(p for s in shards for p in s.pids)
    assert pids == list(range(4096))
    for s in shards:
        assert {masters[p] for p in s.pids} == {s.node}
    # B holds twice the records per partition: it gets twice the shards, so they weigh the same.
    assert sum(1 for s in shards if s.node == "B") == 2 * sum(1 for s in shards if s.node == "A")
    assert balance(shards) < 1.05
    assert sum(s.estimate for s in shards) == pytest.approx(120_000, rel=0.01)


def test_partitions_without_a_master_are_shared_out_and_a_subset_is_kept() -> None:
    masters = {p: NODES[p % 2] for p in range(4096) if p % 7}  # every 7th partition: no master
    shards = plan_shards(masters, {"A": 10_000, "B": 10_000}, 4, pids=list(range(100, 1100)))
    pids = sorted(p for s in shards for p in s.pids)
    assert pids == list(range(100, 1100))
    assert len(shards) == 4 and balance(shards) < 1.1


def test_a_node_with_few_records_still_gets_a_shard_of_its_own() -> None:
    masters = {p: NODES[p % 3] for p in range(4096)}
    shards = plan_shards(masters, {"A": 1_000_000, "B": 10, "C": 0}, 4)
    assert {s.node for s in shards} == set(NODES)


def test_a_paced_run_is_cut_into_even_slices_across_nodes() -> None:
    # -L/-N: one shard a worker thread, all running at once; each reads any node.
    masters = {p: NODES[p % 3] for p in range(4096) if p % 11}
    shards = plan_slices(masters, {"A": 30_000, "B": 60_000, "C": 30_000}, 4, pids=list(range(0, 4000)))
    assert len(shards) == 4 and sorted(p for s in shards for p in s.pids) == list(range(4000))
    assert {len(s.pids) for s in shards} == {1000}
    assert all(len({masters.get(p) for p in s.pids} - {None}) == 3 for s in shards)
    assert balance(shards) < 1.05
    # A partition weighs its master's records per partition (B's twice A's here).
    small = plan_slices({0: "B", 1: "A", 2: "A"}, {"A": 100, "B": 100}, 3, pids=[0, 1, 2])
    assert [s.estimate for s in small] == [100, 50, 50]


def test_without_dask_nothing_imports_it() -> None:
    code = (
        "import sys, asbkit, asbkit.sharded, asbkit.cli.app\n"
        "from asbkit.cli import main\n"
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules, [m for m in sys.modules if 'dask' in m or 'distributed' in m]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

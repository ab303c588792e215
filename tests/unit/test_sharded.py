"""Runs on Dask without a server: the shard planner, and what the engine checks before any
work (the scheduler, the workers' asbkit, a place they share), on a real scheduler with
worker processes of our own making."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import asbkit
import asbkit.sharded
from asbkit.io.s3 import S3Options
from asbkit.sharded import balance, engine, plan_shards, plan_slices

from ..helpers.dask_cluster import local_dask

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


def test_dask_options_a_backup_cannot_take_are_refused_before_connecting(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "asbkit", "backup", "-n", "test", "-o", str(tmp_path / "one.asb"), "--dask", "tcp://127.0.0.1:9", "--no-progress"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "the shards cannot share one -o file" in out.stderr
    assert "does not answer" not in out.stderr


def test_an_unreachable_scheduler_is_said_in_words(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    proc = subprocess.run(
        [sys.executable, "-m", "asbkit", "backup", "-n", "test", "-d", str(tmp_path / "bk"), "--dask", "tcp://127.0.0.1:9", "--no-progress"],
        capture_output=True, timeout=60,
    )
    assert proc.returncode == 1
    assert b"the Dask scheduler at tcp://127.0.0.1:9 does not answer" in proc.stderr
    assert not (tmp_path / "bk").exists()


def start_worker(address: str, prelude: str, *wrapper: str) -> subprocess.Popen[bytes]:
    """A worker process of our own making (no nanny): `prelude` runs first."""
    code = f"import sys\n{prelude}\nfrom distributed.cli.dask_worker import main\nsys.argv = ['dask-worker', {address!r}, '--no-nanny', '--nthreads', '1', '--no-dashboard']\nmain()"
    return subprocess.Popen([*wrapper, sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def bare_scheduler() -> Iterator[Any]:
    """A scheduler with no worker yet (each test brings its own)."""
    with local_dask(0) as client:
        yield client


BLOCK_ASBKIT = """
import importlib.abc
class _NoAsbkit(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "asbkit" or name.startswith("asbkit."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoAsbkit())
"""


@pytest.mark.parametrize("worker", ["without asbkit", "with another version"])
def test_workers_that_cannot_run_this_asbkit_are_refused_by_name(bare_scheduler: Any, tmp_path: Path, worker: str) -> None:
    prelude = BLOCK_ASBKIT if worker == "without asbkit" else "import asbkit.sharded.engine as e\ne.__version__ = '0.0.1'"
    proc = start_worker(bare_scheduler.scheduler.address, prelude)
    try:
        bare_scheduler.wait_for_workers(1, timeout=60)
        (addr,) = bare_scheduler.scheduler_info()["workers"]
        with pytest.raises(asbkit.DaskFailed) as caught:
            asbkit.sharded.backup(bare_scheduler, "127.0.0.1:9", namespace="test", directory=str(tmp_path / "bk"))
        message = str(caught.value)
        assert addr in message and asbkit.__version__ in message
        if worker == "without asbkit":
            assert "cannot run asbkit" in message and "No module named 'asbkit" in message
        else:
            assert "has asbkit 0.0.1" in message
        assert not (tmp_path / "bk").exists()
        with pytest.raises(asbkit.DaskFailed, match="cannot run asbkit|has asbkit 0.0.1"):
            asbkit.sharded.restore(bare_scheduler, "127.0.0.1:9", input_file=str(Path(__file__).parents[2] / "examples" / "sample.asb"))
    finally:
        proc.kill()
        proc.wait()


def test_a_directory_the_workers_do_not_share_is_found_by_a_probe(bare_scheduler: Any, tmp_path: Path) -> None:
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -m (root) to give a worker a directory of its own")
    d = tmp_path / "bk"
    d.mkdir()
    # One worker sees the directory; the other has a private one mounted over it (as a
    # host whose disk is not the shared one).
    seeing = start_worker(bare_scheduler.scheduler.address, "")
    try:
        bare_scheduler.wait_for_workers(1, timeout=60)
        engine.check_shared(bare_scheduler, engine.check_workers(bare_scheduler), str(d), S3Options())  # one worker: shared
        private = start_worker(bare_scheduler.scheduler.address, "", "unshare", "-m", "sh", "-c", f'mount -t tmpfs tmpfs {d} && exec "$0" "$@"')
        try:
            bare_scheduler.wait_for_workers(2, timeout=60)
            workers = engine.check_workers(bare_scheduler)
            with pytest.raises(asbkit.DaskFailed, match="the workers do not share") as caught:
                engine.check_shared(bare_scheduler, workers, str(d), S3Options())
            assert str(d) in str(caught.value)
            assert not list(d.iterdir()), "the probe was left behind"
        finally:
            private.kill()
            private.wait()
    finally:
        seeing.kill()
        seeing.wait()

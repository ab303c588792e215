"""What the Dask engine checks before any work (the workers' asbkit, a place they share),
on a real scheduler with worker processes of our own making; no Aerospike server."""

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
from asbkit.sharded import engine

from ..helpers.dask_cluster import local_dask


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

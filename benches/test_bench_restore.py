"""Restore and verify speed against a real server, records/s, each figure with its baseline
from the same run: C asrestore writing the same corpus with the same options.

Run: `ASBKIT_BENCH_HOST=127.0.0.1:3000 ASBKIT_C_ASRESTORE=… python -m pytest
benches/test_bench_restore.py --benchmark-enable`. Every run writes the fixed-mix corpus
(ASBKIT_BENCH_RESTORE_MB of text, 300 by default: about 840k records of ~357 B) from
namespace `bench` into `test` of that server with `--no-generation` (so each run writes every
record over the last one) and 70,000,000 s of `--extra-ttl` (the corpus's void times are
mostly past).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from .conftest import bench_addr, synthetic_corpus

HOST = os.environ.get("ASBKIT_BENCH_HOST")
C_ASRESTORE = os.environ.get("ASBKIT_C_ASRESTORE")
MB = int(os.environ.get("ASBKIT_BENCH_RESTORE_MB", "300"))
COMMON = ["-n", "bench,test", "--no-generation", "--extra-ttl", "70000000"]

pytestmark = pytest.mark.skipif(not HOST, reason="set ASBKIT_BENCH_HOST=host:port (its namespace test is overwritten)")


@pytest.fixture(scope="module")
def corpus() -> tuple[str, int]:
    path, records, _ = synthetic_corpus(MB)
    return str(path), records


def _timed(benchmark: Any, records: int, cmd: list[str]) -> None:
    benchmark.pedantic(lambda: subprocess.run(cmd, check=True, capture_output=True), rounds=3, warmup_rounds=0)
    best = benchmark.stats.stats.min
    benchmark.extra_info["records"] = records
    benchmark.extra_info["krec_per_s_best"] = round(records / best / 1000, 1)


def _asbkit(command: str, path: str) -> list[str]:
    h, p = bench_addr()
    return [sys.executable, "-m", "asbkit", command, "-h", h, "-p", str(p), "-i", path, "--no-progress", *COMMON]


def test_asbkit_restore(benchmark: Any, corpus: tuple[str, int]) -> None:
    _timed(benchmark, corpus[1], _asbkit("restore", corpus[0]))


@pytest.mark.skipif(not C_ASRESTORE, reason="set ASBKIT_C_ASRESTORE to a built C asrestore")
def test_c_asrestore(benchmark: Any, corpus: tuple[str, int]) -> None:
    h, p = bench_addr()
    _timed(benchmark, corpus[1], [C_ASRESTORE or "", "-h", h, "-p", str(p), "-i", corpus[0], *COMMON])


@pytest.fixture(scope="module")
def split_dir(corpus: tuple[str, int], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same corpus as a directory of four files."""
    out = tmp_path_factory.mktemp("split") / "four"
    subprocess.run([sys.executable, "-m", "asbkit", "split", corpus[0], str(out), "--parts", "4"], check=True, capture_output=True)
    return str(out)


def test_asbkit_restore_directory(benchmark: Any, corpus: tuple[str, int], split_dir: str) -> None:
    cmd = _asbkit("restore", corpus[0])
    cmd[cmd.index("-i")] = "-d"
    cmd[cmd.index(corpus[0])] = split_dir
    _timed(benchmark, corpus[1], cmd)


@pytest.mark.skipif(not C_ASRESTORE, reason="set ASBKIT_C_ASRESTORE to a built C asrestore")
def test_c_asrestore_directory(benchmark: Any, corpus: tuple[str, int], split_dir: str) -> None:
    h, p = bench_addr()
    _timed(benchmark, corpus[1], [C_ASRESTORE or "", "-h", h, "-p", str(p), "-d", split_dir, *COMMON])


def test_asbkit_verify(benchmark: Any, corpus: tuple[str, int]) -> None:
    """Reads every record back and compares it (after a restore of the same corpus)."""
    subprocess.run(_asbkit("restore", corpus[0]), check=True, capture_output=True)
    cmd = _asbkit("verify", corpus[0])
    cmd.remove("--no-generation")
    _timed(benchmark, corpus[1], cmd)

"""Backup speed against a real server, records/s, each figure with its baselines from the
same run: C asbackup at the same parallelism. The ceiling (a counting-only scan over the wire
layer: decode every record, write nothing) is `cargo bench -p asb-wire --bench ceilings`.

Run: `ASBKIT_BENCH_HOST=127.0.0.1:3000 ASBKIT_C_ASBACKUP=… ASBKIT_C_ASRESTORE=… python -m
pytest benches/test_bench_backup.py --benchmark-enable`. The namespace `test` of that server
is truncated and loaded with the fixed-mix corpus (ASBKIT_BENCH_BACKUP_MB of text, 300 by
default: about 840k records of ~357 B), restored by C asrestore with 70,000,000 s of --extra-ttl
(the corpus's void times are mostly past).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import bench_addr, holding_only, synthetic_corpus

HOST = os.environ.get("ASBKIT_BENCH_HOST")
C_ASBACKUP = os.environ.get("ASBKIT_C_ASBACKUP")
C_ASRESTORE = os.environ.get("ASBKIT_C_ASRESTORE")
MB = int(os.environ.get("ASBKIT_BENCH_BACKUP_MB", "300"))
NS = "test"

pytestmark = [
    pytest.mark.skipif(not HOST, reason="set ASBKIT_BENCH_HOST=host:port (its namespace test is truncated and reloaded)"),
    pytest.mark.skipif(not C_ASRESTORE, reason="set ASBKIT_C_ASRESTORE: the corpus is loaded with C asrestore"),
]


@pytest.fixture(scope="module")
def loaded() -> int:
    corpus, records, _ = synthetic_corpus(MB)
    h, p = bench_addr()
    load = [C_ASRESTORE or "", "-h", h, "-p", str(p), "-n", f"bench,{NS}", "-i", str(corpus), "--no-generation", "--extra-ttl", "70000000"]
    holding_only(f"{h}:{p}", NS, records, load)
    return records


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _timed(benchmark: Any, records: int, fn: Any, rounds: int = 3) -> None:
    benchmark.pedantic(fn, rounds=rounds, warmup_rounds=0)
    best = benchmark.stats.stats.min
    benchmark.extra_info["records"] = records
    benchmark.extra_info["krec_per_s_best"] = round(records / best / 1000, 1)


def _asbkit(out: Path, *flags: str) -> list[str]:
    h, p = bench_addr()
    return [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", str(p), "-n", NS, "-d", str(out), "-r", "--no-progress", *flags]


@pytest.mark.parametrize("parallel", [1, 2])
def test_asbkit_backup(benchmark: Any, loaded: int, tmp_path: Path, parallel: int) -> None:
    _timed(benchmark, loaded, lambda: _run(_asbkit(tmp_path / "bk", "-w", str(parallel))))


@pytest.mark.parametrize("parallel", [1, 2])
@pytest.mark.skipif(not C_ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a built C asbackup")
def test_c_asbackup(benchmark: Any, loaded: int, tmp_path: Path, parallel: int) -> None:
    h, p = bench_addr()
    cmd = [C_ASBACKUP or "", "-h", h, "-p", str(p), "-n", NS, "-d", str(tmp_path / "c"), "-r", "-w", str(parallel)]
    _timed(benchmark, loaded, lambda: _run(cmd))


def test_asbkit_backup_zstd(benchmark: Any, loaded: int, tmp_path: Path) -> None:
    _timed(benchmark, loaded, lambda: _run(_asbkit(tmp_path / "z", "-w", "2", "-z", "zstd")))


def test_zstd_alone_on_the_same_text(benchmark: Any, loaded: int, tmp_path: Path) -> None:
    """zstd (level 3, one thread) over the text of a plain backup: what -z zstd costs at most."""
    zstandard = pytest.importorskip("zstandard")
    _run(_asbkit(tmp_path / "p", "-w", "2"))
    text = b"".join(f.read_bytes() for f in sorted((tmp_path / "p").glob("*.asb")))

    def compress() -> None:
        zstandard.ZstdCompressor(level=3).compress(text)

    _timed(benchmark, loaded, compress)


@pytest.mark.skipif(not C_ASBACKUP, reason="set ASBKIT_C_ASBACKUP to a built C asbackup")
def test_c_asbackup_zstd(benchmark: Any, loaded: int, tmp_path: Path) -> None:
    h, p = bench_addr()
    cmd = [C_ASBACKUP or "", "-h", h, "-p", str(p), "-n", NS, "-d", str(tmp_path / "cz"), "-r", "-w", "2", "-z", "zstd"]
    _timed(benchmark, loaded, lambda: _run(cmd))

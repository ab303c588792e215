"""End-to-end speed of validate on the fixed-mix corpus, with same-run baselines.

Run: `python -m pytest benches --benchmark-enable` (add `ASBKIT_C_ASRESTORE=/path/to/asrestore`
to time C `asrestore --validate` on the same files). Each benchmark records MB/s and records/s
of decoded text in `extra_info`; compare them as ratios to `plain read` from the same run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from asbkit import _codec

from .conftest import KEY_MATERIAL


def _rates(benchmark: pytest.FixtureRequest, text_bytes: int, records: int) -> None:
    mean = benchmark.stats.stats.min
    benchmark.extra_info["MB/s"] = round(text_bytes / mean / 1e6, 1)
    benchmark.extra_info["records/s"] = round(records / mean)


def _scan(path: Path, **layers: object) -> int:
    scanner = _codec.Scanner(False)
    scanner.scan(str(path), **layers)
    return scanner.result()["records"]


def test_plain_read_baseline(benchmark, corpus_plain) -> None:
    path, records, text_bytes = corpus_plain

    def read() -> int:
        n = 0
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(1 << 20):
                n += len(chunk)
        return n

    assert benchmark.pedantic(read, rounds=5) == path.stat().st_size
    _rates(benchmark, text_bytes, records)


def test_validate_plain(benchmark, corpus_plain) -> None:
    path, records, text_bytes = corpus_plain
    assert benchmark.pedantic(_scan, (path,), rounds=5) == records
    _rates(benchmark, text_bytes, records)


def test_validate_zstd(benchmark, corpus_zstd) -> None:
    path, records, text_bytes = corpus_zstd
    assert benchmark.pedantic(_scan, (path,), {"zstd": True}, rounds=5) == records
    _rates(benchmark, text_bytes, records)


def test_validate_zstd_aes256(benchmark, corpus_zstd_aes256) -> None:
    path, records, text_bytes = corpus_zstd_aes256
    kwargs = {"zstd": True, "cipher": "aes256", "key_material": KEY_MATERIAL}
    assert benchmark.pedantic(_scan, (path,), kwargs, rounds=5) == records
    _rates(benchmark, text_bytes, records)


def test_inspect_plain(benchmark, corpus_plain) -> None:
    path, records, text_bytes = corpus_plain

    def inspect() -> int:
        scanner = _codec.Scanner(True)
        scanner.scan(str(path))
        return scanner.result()["records"]

    assert benchmark.pedantic(inspect, rounds=5) == records
    _rates(benchmark, text_bytes, records)


def test_generate_and_encode(benchmark, tmp_path, corpus_plain) -> None:
    """Synthesis (with RIPEMD-160 digests) plus encoding; criterion has encode alone."""
    _, records, text_bytes = corpus_plain
    out = tmp_path / "out.asb"
    got = benchmark.pedantic(_codec.write_synthetic, (str(out), text_bytes - 1), rounds=3)
    assert got == (records, text_bytes)
    _rates(benchmark, text_bytes, records)


@pytest.mark.skipif(not os.environ.get("ASBKIT_C_ASRESTORE"), reason="set ASBKIT_C_ASRESTORE to a built C asrestore")
def test_c_asrestore_validate_plain(benchmark, corpus_plain) -> None:
    path, records, text_bytes = corpus_plain
    exe = os.environ["ASBKIT_C_ASRESTORE"]

    def run() -> None:
        subprocess.run([exe, "--validate", "--input-file", str(path)], check=True, capture_output=True)

    benchmark.pedantic(run, rounds=3)
    _rates(benchmark, text_bytes, records)


@pytest.mark.skipif(not os.environ.get("ASBKIT_C_ASRESTORE"), reason="set ASBKIT_C_ASRESTORE to a built C asrestore")
def test_c_asrestore_validate_zstd(benchmark, corpus_zstd) -> None:
    path, records, text_bytes = corpus_zstd
    exe = os.environ["ASBKIT_C_ASRESTORE"]

    def run() -> None:
        subprocess.run([exe, "--validate", "--compress", "zstd", "--input-file", str(path)], check=True, capture_output=True)

    benchmark.pedantic(run, rounds=3)
    _rates(benchmark, text_bytes, records)

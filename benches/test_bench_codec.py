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

from .conftest import KEY_PEM, PLAIN, ZSTD, key_material


def _rates(benchmark, text_bytes: int, records: int, cpu_seconds: float | None = None) -> None:
    if benchmark.stats is None:
        return  # --benchmark-disable (the default): each case ran once, as a smoke test
    best = benchmark.stats.stats.min
    benchmark.extra_info["MB/s"] = round(text_bytes / best / 1e6, 1)
    benchmark.extra_info["records/s"] = round(records / best)
    if cpu_seconds:
        # Per core: the same bytes over the CPU time of every thread or process involved.
        benchmark.extra_info["MB/s per CPU-second"] = round(text_bytes / cpu_seconds / 1e6, 1)


class CpuClock:
    """CPU seconds per round, of this process's threads and of its finished children."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def __call__(self, fn, *args, **kwargs):
        def timed():
            before = self._now()
            out = fn(*args, **kwargs)
            self.samples.append(self._now() - before)
            return out

        return timed

    @staticmethod
    def _now() -> float:
        import resource

        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    @property
    def best(self) -> float:
        return min(self.samples)


def _scan(path: Path, *, cores: str = "one", detail: bool = False, layers: dict[str, object] = PLAIN) -> int:
    """Records read by a summarizer: on one core (`scan`), or on two (`scan_paths`, which cuts a
    big plain file into pieces)."""
    summarizer = _codec.Summarizer(detail, None)
    if cores == "every":
        summarizer.read_paths([str(path)], threads=2, layers=layers, piece_size=_codec.PIECE_SIZE)  # type: ignore[arg-type]
    else:
        summarizer.read(str(path), layers=layers)  # type: ignore[arg-type]
    return summarizer.result().records


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


@pytest.mark.parametrize("cores", ["one", "every"])
def test_validate_plain(benchmark, corpus_plain, cores: str) -> None:
    path, records, text_bytes = corpus_plain
    cpu = CpuClock()
    assert benchmark.pedantic(cpu(_scan, path, cores=cores), rounds=5) == records
    _rates(benchmark, text_bytes, records, cpu.best)


def test_validate_zstd(benchmark, corpus_zstd) -> None:
    path, records, text_bytes = corpus_zstd
    cpu = CpuClock()
    assert benchmark.pedantic(cpu(_scan, path, layers=ZSTD), rounds=5) == records
    _rates(benchmark, text_bytes, records, cpu.best)


def test_validate_zstd_aes256(benchmark, corpus_zstd_aes256) -> None:
    path, records, text_bytes = corpus_zstd_aes256
    cpu = CpuClock()
    scan = cpu(_scan, path, layers={**ZSTD, "encryption": ("aes256", key_material())})
    assert benchmark.pedantic(scan, rounds=5) == records
    _rates(benchmark, text_bytes, records, cpu.best)


def test_inspect_plain(benchmark, corpus_plain) -> None:
    path, records, text_bytes = corpus_plain

    assert benchmark.pedantic(_scan, (path,), {"detail": True}, rounds=5) == records
    _rates(benchmark, text_bytes, records)


def test_generate_and_encode(benchmark, tmp_path, corpus_plain) -> None:
    """Synthesis (with RIPEMD-160 digests) plus encoding; criterion has encode alone."""
    _, records, text_bytes = corpus_plain
    out = tmp_path / "out.asb"
    got = benchmark.pedantic(_codec.write_synthetic, (str(out), text_bytes - 1), {"seed": 1, "layers": PLAIN}, rounds=3)
    assert got == (records, text_bytes)
    _rates(benchmark, text_bytes, records)


C_ASRESTORE = os.environ.get("ASBKIT_C_ASRESTORE")
needs_c = pytest.mark.skipif(not C_ASRESTORE, reason="set ASBKIT_C_ASRESTORE to a built C asrestore")


def _c_validate(benchmark, corpus, *flags: str) -> None:
    path, records, text_bytes = corpus
    cpu = CpuClock()

    def run() -> None:
        assert C_ASRESTORE
        subprocess.run([C_ASRESTORE, "--validate", "--input-file", str(path), *flags], check=True, capture_output=True)

    benchmark.pedantic(cpu(run), rounds=3)
    _rates(benchmark, text_bytes, records, cpu.best)


@needs_c
def test_c_asrestore_validate_plain(benchmark, corpus_plain) -> None:
    _c_validate(benchmark, corpus_plain)


@needs_c
def test_c_asrestore_validate_zstd(benchmark, corpus_zstd) -> None:
    _c_validate(benchmark, corpus_zstd, "--compress", "zstd")


@needs_c
def test_c_asrestore_validate_zstd_aes256(benchmark, corpus_zstd_aes256) -> None:
    _c_validate(benchmark, corpus_zstd_aes256, "--compress", "zstd", "--encrypt", "aes256", "--encryption-key-file", str(KEY_PEM))


@pytest.mark.parametrize("dest", ["file", "devnull"])
def test_convert_to_jsonl(benchmark, tmp_path, corpus_plain, dest: str) -> None:
    """To a new file, as `asbkit convert` writes one (the kernel's work on ~1.9x the input
    counts too), and to /dev/null (the conversion alone).

    Each round starts as a single run would: the last round's output is removed and the
    page cache written back before the clock starts, so a round pays neither for truncating
    190 MB nor for the writeback of the round before."""
    path, records, text_bytes = corpus_plain
    out = tmp_path / "out.jsonl" if dest == "file" else Path(os.devnull)

    def fresh_output():
        if dest == "file":
            out.unlink(missing_ok=True)
            os.sync()

    cpu = CpuClock()
    convert = cpu(_codec.asb_to_jsonl, [str(path)], str(out), layers=PLAIN, selection=None, pieces=(os.cpu_count() or 1, _codec.CONVERT_PIECE_SIZE))
    counts = benchmark.pedantic(convert, setup=fresh_output, rounds=7)
    assert counts.records == records
    _rates(benchmark, text_bytes, records, cpu.best)


def test_convert_from_jsonl(benchmark, tmp_path, corpus_plain) -> None:
    """JSON Lines back to `.asb` (into /dev/null); MB/s are of the `.asb` text made."""
    path, records, text_bytes = corpus_plain
    jsonl = tmp_path / "in.jsonl"
    _codec.asb_to_jsonl([str(path)], str(jsonl), layers=PLAIN, selection=None, pieces=(2, _codec.CONVERT_PIECE_SIZE))  # type: ignore[arg-type]
    cpu = CpuClock()
    counts = benchmark.pedantic(cpu(_codec.jsonl_to_asb, str(jsonl), os.devnull, layers=PLAIN, selection=None), rounds=3)
    assert counts.records == records
    _rates(benchmark, text_bytes, records, cpu.best)


@pytest.mark.parametrize("cores", ["one", "every"])
def test_stats(benchmark, corpus_plain, cores: str) -> None:
    path, records, text_bytes = corpus_plain
    cpu = CpuClock()
    run = cpu(_scan, path, cores=cores, detail=True, deep=True, check_digests=False)
    assert benchmark.pedantic(run, rounds=3) == records
    _rates(benchmark, text_bytes, records, cpu.best)


@pytest.mark.parametrize("cores", ["one", "every"])
def test_validate_deep(benchmark, corpus_plain, cores: str) -> None:
    path, records, text_bytes = corpus_plain
    cpu = CpuClock()
    assert benchmark.pedantic(cpu(_scan, path, cores=cores, deep=True), rounds=3) == records
    _rates(benchmark, text_bytes, records, cpu.best)

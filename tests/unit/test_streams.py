"""Streaming: memory stays flat in file size; file objects work both ways."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import asbkit
from asbkit import BackupWriter, Layers
from asbkit.io import write_synthetic


@pytest.mark.parametrize("compress", ["zstd", None])
def test_validating_a_large_file_keeps_memory_flat(tmp_path: Path, compress: str | None) -> None:
    # zstd files are streamed through a window; plain ones are mapped, read in pieces on
    # every core, and give their parsed pages back.
    path = tmp_path / "big.asb"
    records, text_bytes = write_synthetic(path, 300_000_000, layers=Layers(compress=compress, compression_level=1))
    assert text_bytes >= 300_000_000
    script = textwrap.dedent(
        f"""
        import asbkit
        r = asbkit.validate({str(path)!r}, asbkit.Layers(compress={compress!r}))
        # VmHWM is this process's own peak (ru_maxrss would include the parent's at fork).
        hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(r.records, hwm.split()[1])
        """
    )
    out = subprocess.run([sys.executable, "-c", "import asbkit\n" + script], capture_output=True, text=True, check=True)
    got_records, max_rss_kib = map(int, out.stdout.split())
    assert got_records == records
    # 300 MB of text in well under 100 MiB of memory (mapped pages count too).
    assert max_rss_kib < 100 * 1024, max_rss_kib


def test_converting_big_records_keeps_memory_bounded(tmp_path: Path) -> None:
    # Records on their way from the parser to the JSON encoder are batched by count and by
    # bytes, and batch slots drop buffers that a big record grew: 400 records of 256 KiB
    # blobs (140 MB of text) must not be held at once.
    import os

    path = tmp_path / "big-records.asb"
    with BackupWriter(path, "test") as w:
        for i in range(400):
            w.write(asbkit.Record(namespace="test", set="s", digest=i.to_bytes(20, "big"), key=None,
                                  generation=1, void_time=0, bins=[asbkit.Bin("b", "B", os.urandom(256 << 10))]))
    script = textwrap.dedent(
        f"""
        from asbkit import Layers, _codec
        counts = _codec.asb_to_jsonl([{str(path)!r}], "/dev/null", layers=Layers().codec_args(), selection=None, pieces=(2, _codec.CONVERT_PIECE_SIZE))
        hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print(counts.records, hwm.split()[1])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    got_records, max_rss_kib = map(int, out.stdout.split())
    assert got_records == 400
    assert max_rss_kib < 100 * 1024, max_rss_kib


def test_file_objects_in_and_out(upstream_asb: Path) -> None:
    src = io.BytesIO(upstream_asb.read_bytes())
    entities = list(asbkit.read_backup(src))
    out = io.BytesIO()
    with BackupWriter(out, "test") as w:
        for e in entities:
            w.write(e)
    assert out.getvalue() == upstream_asb.read_bytes()


def test_failed_write_leaves_no_file(tmp_path: Path, upstream_asb: Path) -> None:
    dest = tmp_path / "out.asb"
    (record,) = asbkit.read_backup(upstream_asb)
    try:
        with BackupWriter(dest, "test", layers=Layers(compress="zstd")) as w:
            w.write(record)
            raise RuntimeError("scan failed")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []
    with BackupWriter(dest, "test", layers=Layers(compress="zstd")) as w:
        w.write(record)
    assert [p.name for p in tmp_path.iterdir()] == ["out.asb"]
    assert list(asbkit.read_backup(dest, Layers(compress="zstd")))[0].digest == record.digest

"""`asbkit filter` and `asbkit split`: asb to asb, each output restorable on its own."""

from __future__ import annotations

from pathlib import Path

import asbkit
from asbkit import Layers, Selection, validate
from asbkit.io import write_synthetic
from asbkit.transform import filter_backup, split_backup

from ..helpers.files import SAMPLE, write_into_fifo
from ..helpers.results import result_of


def records_of(path: Path | str, layers: Layers | None = None) -> list[asbkit.Record]:
    return [e for e in asbkit.read_backup(path, layers) if isinstance(e, asbkit.Record)]


def test_filter_keeps_what_the_selection_keeps(tmp_path: Path) -> None:
    out = tmp_path / "f.asb"
    result = result_of(filter_backup, str(SAMPLE), str(out), selection=Selection(sets=["demo"], bins=["age"]))
    assert result.ok and (result.data.records, result.data.skipped) == (2, 1)
    recs = records_of(out)
    assert [r.set for r in recs] == ["demo", "demo"]
    assert [[b.name for b in r.bins] for r in recs] == [["age"], []]


def test_filter_without_selection_is_identity(tmp_path: Path) -> None:
    out = tmp_path / "same.asb"
    assert result_of(filter_backup, str(SAMPLE), str(out)).ok
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_split_parts_restore_on_their_own(tmp_path: Path) -> None:
    src = tmp_path / "big.asb"
    write_synthetic(src, 3_000_000, seed=9, layers=Layers(compress="zstd"))
    layers = Layers(compress="zstd")
    original = records_of(src, layers)
    result = result_of(split_backup, str(src), str(tmp_path / "parts"), layers, parts=3)
    assert result.ok, result.errors
    outputs = [Path(p) for p in result.data.outputs]
    assert [p.name for p in outputs] == ["bench_00000.asb", "bench_00001.asb", "bench_00002.asb"]
    counts = []
    for p in outputs:
        reader = asbkit.read_backup(p, layers)
        recs = [e for e in reader if isinstance(e, asbkit.Record)]
        assert reader.header is not None and reader.header.namespace == "bench"
        assert reader.header.first_file == (p == outputs[0])
        assert result_of(validate, str(p), layers).ok
        counts.append(len(recs))
    assert sum(counts) == len(original) and max(counts) - min(counts) <= 1
    joined = [r.digest for p in outputs for r in records_of(p, layers)]
    assert joined == [r.digest for r in original]


def test_split_by_size_keeps_metadata_in_the_first(tmp_path: Path) -> None:
    result = result_of(split_backup, str(SAMPLE), str(tmp_path / "s"), size_mb=0.0001)
    assert result.ok
    first = list(asbkit.read_backup(result.data.outputs[0]))
    assert [type(e).__name__ for e in first][:3] == ["SecondaryIndex", "SecondaryIndex", "Udf"]
    assert sum(len(records_of(p)) for p in result.data.outputs) == 3
    again = result_of(split_backup, str(SAMPLE), str(tmp_path / "s"), records=1)
    assert not again.ok and "already holds" in str(again.errors[0])


def test_split_with_a_selection_cuts_between_kept_records(tmp_path: Path) -> None:
    # Records of set "a" then of set "b"; keeping "a" in parts of two must give exactly the
    # parts that hold them, not a last part that only skipped records opened.
    src = tmp_path / "ab.asb"
    with asbkit.BackupWriter(str(src), "test") as w:
        for i, set_name in enumerate(["a", "a", "a", "a", "b", "b", "b"]):
            w.write(asbkit.Record(namespace="test", set=set_name, digest=bytes([i]) * 20, key=None,
                                  generation=1, void_time=0, bins=[asbkit.Bin("x", "I", i)]))
    result = result_of(split_backup, str(src), str(tmp_path / "parts"), records=2, selection=Selection(sets=["a"]))
    assert result.ok, result.errors
    assert (result.data.records, result.data.skipped) == (4, 3)
    parts = [records_of(Path(p)) for p in result.data.outputs]
    assert [[r.bins[0].value for r in part] for part in parts] == [[0, 1], [2, 3]]
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["test_00000.asb", "test_00001.asb"]


def test_failed_filter_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.asb"
    bad.write_bytes(SAMPLE.read_bytes()[:-3])
    result = result_of(filter_backup, str(bad), str(tmp_path / "out.asb"))
    assert not result.ok and result.errors[0].path == str(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.asb"]


def test_filter_replaces_a_file_as_convert_does(tmp_path: Path) -> None:
    # One output file follows convert's rule: replaced whole when the copy is complete, with
    # the old file's mode; a failed copy leaves the old file as it was.
    import os
    import stat

    out = tmp_path / "out.asb"
    out.write_bytes(b"old")
    out.chmod(0o640)
    assert result_of(filter_backup, str(SAMPLE), str(out)).ok
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    bad = tmp_path / "bad.asb"
    bad.write_bytes(SAMPLE.read_bytes()[:-3])
    assert not result_of(filter_backup, str(bad), str(out)).ok
    assert out.read_bytes() == SAMPLE.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.asb", "out.asb"]


def test_filter_writes_pipes_and_devices_in_place(tmp_path: Path) -> None:
    import os
    import stat

    fifo = tmp_path / "pipe.asb"
    result, received = write_into_fifo(fifo, lambda path: result_of(filter_backup, str(SAMPLE), path))
    assert result.ok, result.errors
    assert received == SAMPLE.read_bytes() and result.data.outputs == [str(fifo)]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.asb"], "nothing staged"
    assert result_of(filter_backup, str(SAMPLE), os.devnull).ok
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)

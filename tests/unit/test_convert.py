"""`asbkit convert`: .asb to JSON Lines and back, byte for byte, with filters."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import pytest

import asbkit
from asbkit import BackupWriter, Layers, Selection, _codec, convert
from asbkit.io import write_synthetic

from ..helpers.files import GENERATED, GO_DOUBLES, SAMPLE, vector, write_into_fifo
from ..helpers.results import result_of


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("source", ["upstream", "sample", "synthetic"])
def test_asb_to_json_and_back_is_byte_identical(tmp_path: Path, source: str, upstream_asb: Path) -> None:
    if source == "synthetic":
        src = tmp_path / "syn.asb"
        write_synthetic(src, 3_000_000, seed=3)
    else:
        src = upstream_asb if source == "upstream" else SAMPLE
    assert result_of(convert, str(src), str(tmp_path / "x.jsonl")).ok
    result = result_of(convert, str(tmp_path / "x.jsonl"), str(tmp_path / "back.asb"))
    assert result.ok, result.errors
    assert (tmp_path / "back.asb").read_bytes() == src.read_bytes()


@pytest.mark.parametrize(("name", "compress", "encrypt"), GENERATED)
def test_layered_vectors_convert_both_ways(
    tmp_path: Path, name: str, compress: str | None, encrypt: str | None, test_key: Path, upstream_asb: Path
) -> None:
    layers = Layers(compress=compress, encrypt=encrypt, key_file=str(test_key) if encrypt else None)
    assert result_of(convert, str(vector(f"generated/{name}")), str(tmp_path / "x.jsonl"), layers).ok
    assert result_of(convert, str(tmp_path / "x.jsonl"), str(tmp_path / "y.asb"), layers).ok
    # The written layers decode to the upstream text again.
    assert result_of(convert, str(tmp_path / "y.asb"), str(tmp_path / "z.jsonl"), layers).ok
    assert result_of(convert, str(tmp_path / "z.jsonl"), str(tmp_path / "plain.asb")).ok
    assert (tmp_path / "plain.asb").read_bytes() == upstream_asb.read_bytes()


def test_json_values_for_people(tmp_path: Path) -> None:
    assert result_of(convert, str(SAMPLE), str(tmp_path / "s.jsonl")).ok
    header, idx_age, idx_tags, udf, alice, num, raw = jsonl(tmp_path / "s.jsonl")
    assert (header["type"], header["namespace"], header["first_file"], header["file"]) == ("header", "test", True, "sample.asb")
    assert idx_tags == {"type": "sindex", "namespace": "test", "set": "", "name": "idx_tags", "index_type": "L", "paths": [{"bin": "tags", "type": "S"}]}
    assert udf["content"].startswith("function hello()")
    bins = {b["name"]: b for b in alice["bins"]}
    assert bins["ratio"]["v"] == 0.1 and bins["age"]["v"] == 42 and bins["flag"]["v"] is True
    assert bins["loc"] == {"name": "loc", "t": "G", "v": '{"type":"Point","coordinates":[1,2]}'}
    assert bins["m"]["view"] == {"k": 1}
    assert num["key"] == {"t": "I", "v": 12345} and num["expires"] == "2025-11-05T00:53:20Z"
    assert raw["key"] == {"t": "B", "v": "AP9hYg==", "compact": True}
    assert raw["bins"] == [{"name": "raw", "t": "B", "v": "YQpi", "compact": True}]


def test_extreme_values_survive(tmp_path: Path) -> None:
    from asbkit import Bin, Key, Record

    rec = Record(
        "ns\udcff",
        bytes(range(20)),
        [
            Bin("big", "I", -(2**63)),
            Bin("max", "I", 2**63 - 1),
            Bin("nan", "D", float("nan")),
            Bin("neg_nan", "D", -float("nan")),
            Bin("inf", "D", float("-inf")),
            Bin("neg_zero", "D", -0.0),
            Bin("tiny", "D", 5e-324),
            Bin("bytes\udce9", "S", "caf\udce9"),
            Bin("ordered", "L", bytes.fromhex("94c70001010203")),
            Bin("kv", "M", bytes.fromhex("83c70003c0a2036102a2037a01")),
            Bin("hll", "Y", b"\x00\x01", True),
        ],
        set="s",
        key=Key("D", 1.5),
        generation=65535,
        void_time=2**32 - 1,
    )
    src = tmp_path / "x.asb"
    w = BackupWriter(str(src), "ns\udcff")
    w.write(rec)
    w.close()
    assert result_of(convert, str(src), str(tmp_path / "x.jsonl")).ok
    header, doc = jsonl(tmp_path / "x.jsonl")
    assert header["namespace"] == {"b64": "bnP/"}
    bins = {b["name"] if isinstance(b["name"], str) else b["name"]["b64"]: b for b in doc["bins"]}
    assert bins["big"]["v"] == -(2**63) and bins["max"]["v"] == 2**63 - 1
    assert (bins["nan"]["v"], bins["neg_nan"]["v"], bins["inf"]["v"]) == ("NaN", "-NaN", "-Infinity")
    assert math.copysign(1, bins["neg_zero"]["v"]) == -1 and bins["tiny"]["v"] == 5e-324
    assert bins["Ynl0ZXPp"]["v"] == {"b64": "Y2Fm6Q=="}
    assert bins["ordered"]["view"] == {"flags": 1, "list": [1, 2, 3]}
    assert bins["kv"]["view"] == {"flags": 3, "map": {"a": 2, "z": 1}}
    assert doc["expires"] == "2146-02-07T06:28:15Z" and doc["key"] == {"t": "D", "v": 1.5}
    assert result_of(convert, str(tmp_path / "x.jsonl"), str(tmp_path / "y.asb")).ok
    assert (tmp_path / "y.asb").read_bytes() == src.read_bytes()


def test_filters(tmp_path: Path) -> None:
    sel = Selection(sets=["demo"], bins=["age"], namespace=("test", "prod"), max_records=5)
    result = result_of(convert, str(SAMPLE), str(tmp_path / "f.jsonl"), selection=sel)
    assert result.ok and (result.data.records, result.data.skipped) == (2, 1)
    docs = jsonl(tmp_path / "f.jsonl")
    assert docs[0]["namespace"] == "prod" and {d["namespace"] for d in docs[1:] if "namespace" in d} == {"prod"}
    records = [d for d in docs if d["type"] == "record"]
    assert [r["bins"] for r in records] == [[{"name": "age", "t": "I", "v": 42}], []]
    wrong = result_of(convert, str(SAMPLE), str(tmp_path / "g.jsonl"), selection=Selection(namespace=("other", "x")))
    assert not wrong.ok and "expected \"other\"" in str(wrong.errors[0])
    assert not (tmp_path / "g.jsonl").exists(), "a failed conversion leaves no file"


def test_bad_json_is_located_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    assert result_of(convert, str(SAMPLE), str(src)).ok
    lines = src.read_text().splitlines()
    lines[5] = lines[5].replace('"generation":1', '"generation":70000')
    src.write_text("\n".join(lines) + "\n")
    result = result_of(convert, str(src), str(tmp_path / "out.asb"))
    (err,) = result.errors
    assert (err.line, err.path) == (6, str(src)) and "generation" in err.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_format_must_be_known(tmp_path: Path) -> None:
    result = result_of(convert, str(SAMPLE), str(tmp_path / "out.txt"))
    assert "pass --to asb|jsonl" in str(result.errors[0])
    assert "both sides are asb" in str(result_of(convert, str(SAMPLE), str(tmp_path / "o.asb")).errors[0])


def test_select_by_key_and_digest(tmp_path: Path) -> None:
    by_key = result_of(convert, str(SAMPLE), str(tmp_path / "k.jsonl"), selection=Selection(keys=[("S", "alice"), ("I", 12345)]))
    assert by_key.ok and (by_key.data.records, by_key.data.skipped) == (2, 1)
    digest = base64.b64decode("6PwJ4/v/twYVahR7CrobAPP2UWY=")
    by_digest = result_of(convert, str(SAMPLE), str(tmp_path / "d.jsonl"), selection=Selection(digests=[digest]))
    assert by_digest.ok and by_digest.data.records == 1
    (rec,) = [d for d in jsonl(tmp_path / "d.jsonl") if d["type"] == "record"]
    assert rec["digest"] == "6PwJ4/v/twYVahR7CrobAPP2UWY="
    raw = result_of(convert, str(SAMPLE), str(tmp_path / "b.jsonl"), selection=Selection(keys=[("B", b"\x00\xffab")]))
    assert raw.data.records == 1


def test_directory_round_trips_through_one_jsonl(tmp_path: Path, upstream_asb: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "t_00000.asb").write_bytes(SAMPLE.read_bytes())
    (src / "t_00001.asb").write_bytes(upstream_asb.read_bytes().replace(b"# first-file\n", b""))
    assert result_of(convert, str(src), str(tmp_path / "all.jsonl")).ok
    headers = [d for d in jsonl(tmp_path / "all.jsonl") if d["type"] == "header"]
    assert [h["file"] for h in headers] == ["t_00000.asb", "t_00001.asb"]
    back = result_of(convert, str(tmp_path / "all.jsonl"), str(tmp_path / "back") + "/")
    assert back.ok, back.errors
    assert [Path(f).name for f in back.data.files] == ["t_00000.asb", "t_00001.asb"]
    for name in ("t_00000.asb", "t_00001.asb"):
        assert (tmp_path / "back" / name).read_bytes() == (src / name).read_bytes()
    single = result_of(convert, str(tmp_path / "all.jsonl"), str(tmp_path / "one.asb"))
    assert "several backup files" in str(single.errors[0]) and not (tmp_path / "one.asb").exists()
    again = result_of(convert, str(tmp_path / "all.jsonl"), str(tmp_path / "back"))
    assert "exists already" in str(again.errors[0])
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["t_00000.asb", "t_00001.asb"]


def test_outputs_that_are_not_regular_files_are_written_in_place(tmp_path: Path) -> None:
    # Staging renames a temporary file onto the target: that must never replace a FIFO or
    # a device such as /dev/null with a regular file.
    import os
    import stat

    fifo = tmp_path / "pipe.jsonl"
    result, received = write_into_fifo(fifo, lambda path: result_of(convert, str(SAMPLE), path))
    assert result.ok, result.errors
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    lines = received.splitlines()
    assert json.loads(lines[0])["type"] == "header" and len(lines) == 1 + result.data.records + result.data.indexes + result.data.udfs
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staged file left"


def test_replaced_outputs_keep_their_mode_and_new_ones_follow_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    kept = tmp_path / "kept.jsonl"
    kept.write_text("old")
    kept.chmod(0o640)
    assert result_of(convert, str(SAMPLE), str(kept)).ok
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640
    assert kept.read_text().startswith('{"type":"header"')
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.jsonl"
        assert result_of(convert, str(SAMPLE), str(fresh)).ok
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644


@pytest.mark.parametrize("threads", [1, 3])
def test_progress_reports_the_bytes_read(tmp_path: Path, threads: int) -> None:
    src = tmp_path / "big.asb"
    write_synthetic(src, 5_000_000, seed=8)
    size = src.stat().st_size
    seen: list[int] = []
    _codec.asb_to_jsonl([str(src)], str(tmp_path / "out.jsonl"), layers=Layers().codec_args(), selection=None, pieces=(threads, 1 << 20), progress=seen.append)
    assert len(seen) > 3 and seen == sorted(seen)
    assert seen[-1] == size
    copied: list[int] = []
    _codec.asb_to_asb([str(src)], tmp_path / "copy.asb", parts=None, layers=Layers().codec_args(), selection=None, progress=copied.append)
    assert len(copied) > 3 and copied == sorted(copied) and copied[-1] == size


def test_go_double_text_converts_back_byte_for_byte(tmp_path: Path) -> None:
    # Go writes shortest forms (0.1, 1.234567e+06, +Inf, NaN) where C writes %.17g: the JSON
    # keeps that text, so the file comes back as it was; C-form doubles need no text.
    src = tmp_path / "go.asb"
    src.write_bytes(GO_DOUBLES)
    # By default the values are kept (exact bits) and written back in C's form.
    assert result_of(convert, str(src), str(tmp_path / "plain.jsonl")).ok
    _, doc = jsonl(tmp_path / "plain.jsonl")
    assert not any("text" in b for b in doc["bins"])
    assert result_of(convert, str(tmp_path / "plain.jsonl"), str(tmp_path / "c_form.asb")).ok
    assert b"- D a 0.10000000000000001\n- D b 1234567\n- D c inf\n" in (tmp_path / "c_form.asb").read_bytes()
    assert result_of(convert, str(src), str(tmp_path / "go.jsonl"), selection=Selection(keep_double_text=True)).ok
    _, doc = jsonl(tmp_path / "go.jsonl")
    texts = {b["name"]: b.get("text") for b in doc["bins"]}
    assert texts == {"a": "0.1", "b": "1.234567e+06", "c": "+Inf", "d": "-Inf", "e": "NaN", "f": None, "g": "5e-324"}
    assert doc["key"] == {"t": "D", "v": 0.1, "text": "0.1"}
    assert result_of(convert, str(tmp_path / "go.jsonl"), str(tmp_path / "back.asb")).ok
    assert (tmp_path / "back.asb").read_bytes() == GO_DOUBLES
    # asb to asb keeps the text too.
    assert result_of(asbkit.filter_backup, str(src), str(tmp_path / "copy.asb")).ok
    assert (tmp_path / "copy.asb").read_bytes() == GO_DOUBLES


def test_double_text_must_read_as_its_value(tmp_path: Path) -> None:
    src = tmp_path / "go.asb"
    src.write_bytes(GO_DOUBLES)
    assert result_of(convert, str(src), str(tmp_path / "go.jsonl"), selection=Selection(keep_double_text=True)).ok
    text = (tmp_path / "go.jsonl").read_text().replace('"text":"1.234567e+06"', '"text":"1.5"')
    (tmp_path / "bad.jsonl").write_text(text)
    result = result_of(convert, str(tmp_path / "bad.jsonl"), str(tmp_path / "bad.asb"))
    assert not result.ok
    assert "does not read as the value" in str(result.errors[0]) and result.errors[0].line == 2
    assert not (tmp_path / "bad.asb").exists()

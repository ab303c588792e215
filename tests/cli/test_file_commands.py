"""The file commands on the command line (convert, filter, split, stats, validate --deep):
their flags, exit codes and JSON, run in-process and as a real process. What they compute
is tested through the library in tests/unit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import asbkit
from asbkit import Layers
from asbkit.cli import main

from ..helpers.files import GO_DOUBLES, SAMPLE


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def records_of(path: Path | str, layers: Layers | None = None) -> list[asbkit.Record]:
    return [e for e in asbkit.read_backup(path, layers) if isinstance(e, asbkit.Record)]


def test_convert_streams_stdin_to_stdout(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asbkit", "convert", "-", "-", "--from", "asb", "--to", "jsonl"],
        stdin=SAMPLE.open("rb"), capture_output=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 7 and b"converted" in proc.stderr
    back = subprocess.run(
        [sys.executable, "-m", "asbkit", "convert", "-", "-", "--from", "jsonl", "--to", "asb", "-z", "zstd"],
        input=proc.stdout, capture_output=True, check=False,
    )
    assert back.returncode == 0, back.stderr
    assert back.stdout[:4] == b"\x28\xb5\x2f\xfd"
    (tmp_path / "z.asb").write_bytes(back.stdout)
    assert len(list(asbkit.read_backup(tmp_path / "z.asb", Layers(compress="zstd")))) == 6


def test_convert_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["convert", str(SAMPLE), str(tmp_path / "o.jsonl"), "-s", "demo", "-B", "age", "--no-metadata", "--output", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["data"]["records"] == 2 and doc["data"]["indexes"] == 0
    assert main(["convert", str(SAMPLE), str(tmp_path / "p.jsonl"), "-n", "bad"]) == 2


def test_convert_refuses_a_digest_that_is_not_base64(tmp_path: Path) -> None:
    assert main(["convert", str(SAMPLE), str(tmp_path / "c.jsonl"), "--digest", "notbase64!"]) == 2


def test_convert_keeps_the_text_of_doubles_with_keep_double_text(tmp_path: Path) -> None:
    # The flag of the library's Selection(keep_double_text=True): Go's forms of doubles as
    # they were written (tests/unit/test_convert.py converts them back byte for byte).
    src = tmp_path / "go.asb"
    src.write_bytes(GO_DOUBLES)
    assert main(["convert", str(src), str(tmp_path / "go.jsonl"), "--keep-double-text"]) == 0
    _, doc = jsonl(tmp_path / "go.jsonl")
    texts = {b["name"]: b.get("text") for b in doc["bins"]}
    assert texts == {"a": "0.1", "b": "1.234567e+06", "c": "+Inf", "d": "-Inf", "e": "NaN", "f": None, "g": "5e-324"}


def test_filter_and_split(tmp_path: Path) -> None:
    assert main(["filter", str(SAMPLE), str(tmp_path / "o.asb"), "-n", "test,prod"]) == 0
    assert {r.namespace for r in records_of(tmp_path / "o.asb")} == {"prod"}
    assert main(["split", str(SAMPLE), str(tmp_path / "d"), "--records", "2", "-q", "part"]) == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["part_00000.asb", "part_00001.asb"]


def test_stats_duplicates_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "a.asb")
    shutil.copy(SAMPLE, tmp_path / "b.asb")
    assert main(["stats", "--output", "json", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert data["duplicate_digests"] == 3 and len(data["duplicates"]) == 3
    assert data["ttl"] == {"never_expire": 4, "expired_now": 2, "by_month": {"2025-11": 2}}
    assert {b["name"]: (b["size_min"], b["size_median"], b["size_max"]) for b in data["bins"]}["loc"] == (36, 36, 36)


def test_validate_deep_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "a.asb")
    shutil.copy(SAMPLE, tmp_path / "b.asb")
    code = main(["validate", "--deep", "--max-errors", "1", "--output", "json", str(tmp_path)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["status"] == "error" and doc["errors"] == []
    assert doc["data"]["deep"]["finding_counts"] == {"duplicate_digest": 3}
    assert len(doc["data"]["deep"]["findings"]) == 1

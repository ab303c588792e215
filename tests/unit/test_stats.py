"""`asbkit stats`: per set and bin figures, TTL by month, duplicate digests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import asbkit
from asbkit import stats
from asbkit.cli import main
from asbkit.io import write_synthetic

from ..helpers.files import SAMPLE
from ..helpers.results import result_of


def test_figures_match_the_records(tmp_path: Path) -> None:
    path = tmp_path / "s.asb"
    write_synthetic(path, 2_000_000, seed=5)
    records = [e for e in asbkit.read_backup(path) if isinstance(e, asbkit.Record)]
    result = result_of(stats, str(path))
    assert result.ok
    r = result.data
    assert r.records == len(records) and r.duplicate_digests == 0
    by_set: dict[str, int] = {}
    for rec in records:
        by_set[rec.set] = by_set.get(rec.set, 0) + 1
    assert {s.set: s.records for s in r.sets} == by_set
    names = {b.name: b for b in r.bins}
    name_sizes = sorted(len(rec.bins[2].value) for rec in records)
    assert (names["name"].size_min, names["name"].size_max) == (name_sizes[0], name_sizes[-1])
    assert abs(names["name"].size_median - name_sizes[len(name_sizes) // 2]) <= max(4, name_sizes[len(name_sizes) // 2] // 4)
    assert names["payload"].types == {"blob": len(records)} and names["id"].size_median == 8
    assert r.ttl.never_expire == sum(1 for rec in records if rec.void_time == 0)
    assert sum(r.ttl.by_month.values()) == len(records) - r.ttl.never_expire
    assert r.generation is not None and r.generation.min >= 1


def test_duplicates_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(SAMPLE, tmp_path / "a.asb")
    shutil.copy(SAMPLE, tmp_path / "b.asb")
    assert main(["stats", "--output", "json", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert data["duplicate_digests"] == 3 and len(data["duplicates"]) == 3
    assert data["ttl"] == {"never_expire": 4, "expired_now": 2, "by_month": {"2025-11": 2}}
    assert {b["name"]: (b["size_min"], b["size_median"], b["size_max"]) for b in data["bins"]}["loc"] == (36, 36, 36)

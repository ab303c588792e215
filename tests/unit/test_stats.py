"""`asbkit stats`: per set and bin figures, TTL by month, duplicate digests."""

from __future__ import annotations

from pathlib import Path

import asbkit
from asbkit import stats
from asbkit.io import write_synthetic

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

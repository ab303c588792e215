"""A restore's counters are defined once (asb-wire's `counters!`): the Rust run gives them by
name, `asbkit.RestoreCounters` holds exactly those names, and reports take them by name."""

from __future__ import annotations

from pathlib import Path

from asbkit import RestoreCounters, RestoreOptions, RestoreReport, _codec
from asbkit.cluster.client import WireAccess
from asbkit.restoring.driver import restore_settings
from asbkit.restoring.report import counts_of, take_counts
from asbkit.restoring.verify import VerifyReport


def test_the_rust_runs_counters_are_restore_counters_fields(tmp_path: Path) -> None:
    settings = restore_settings(RestoreOptions(), 1, verify=False, batch_writes=True, total_timeout_ms=1000)
    run = _codec.RestoreRun([str(tmp_path / "never-started.asb")], [None], settings, WireAccess())
    named = run.counters()
    assert [name for name, _ in named] == list(RestoreCounters.names())
    assert RestoreCounters.of(named) == RestoreCounters()


def test_reports_take_the_counters_by_name() -> None:
    c = RestoreCounters(read=9, expired=1, skipped=2, err_ignored=3, inserted=1, updated=1, existed=0, fresher=1, failed=0,
                        retries=4, same=5, missing=6, different=7, raw_bytes=800)
    r = RestoreReport()
    take_counts(r, c)
    assert (r.records_read, r.expired, r.err_ignored, r.fresher, r.retries, r.bytes_read) == (9, 1, 3, 1, 4, 800)
    assert counts_of(r) == RestoreCounters(read=9, expired=1, skipped=2, err_ignored=3, inserted=1, updated=1, fresher=1, retries=4, raw_bytes=800)
    v = VerifyReport()
    take_counts(v, RestoreCounters(read=5, same=3, missing=1, different=1, failed=2), failed="unreadable")
    assert (v.records_read, v.same, v.missing, v.different, v.unreadable) == (5, 3, 1, 1, 2)

"""The library as a user calls it, against the real one-node server: `asbkit.backup`,
`restore` and `verify` do what the CLI does for the same options, take hosts as text or
(host, port) pairs, report progress to a callback, stop on a Cancel, and raise typed
errors that carry their report."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import asbkit

from ..helpers.cluster_data import HOST, asb_files, load_bulk, needs_host, records_of, split_addr

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
SET = "libapi"
N = 3000


@pytest.fixture(scope="module")
def loaded(host_client: Any) -> set[bytes]:
    host_client.truncate(NS, SET, 0)
    time.sleep(0.5)
    load_bulk(host_client, NS, N, set_name=SET, payload=100)
    seen: set[bytes] = set()
    host_client.query(NS, SET).foreach(lambda rec: seen.add(bytes(rec[0][3])))
    assert len(seen) == N
    return seen


def pairs() -> list[tuple[str, int]]:
    return [split_addr(HOST or "")]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    h, p = split_addr(HOST or "")
    return subprocess.run([sys.executable, "-m", "asbkit", args[0], "-h", h, "-p", str(p), "--no-progress", *args[1:]], capture_output=True, text=True, timeout=300)


def test_backup_as_a_call_writes_what_the_cli_writes(loaded: set[bytes], tmp_path: Path) -> None:
    seen: list[asbkit.BackupProgress] = []
    report = asbkit.backup(pairs(), namespace=NS, sets=[SET], directory=str(tmp_path / "lib"), on_progress=seen.append)
    assert isinstance(report, asbkit.BackupReport) and report.records == N and report.manifest
    assert seen and seen[-1].records == N and seen[-1].estimate == N
    p = cli("backup", "-n", NS, "-s", SET, "-d", str(tmp_path / "cli"))
    assert p.returncode == 0, p.stderr
    ours, theirs = asb_files(tmp_path / "lib"), asb_files(tmp_path / "cli")
    # The node serves a scan's partitions in no fixed order: the same records, each the
    # same text, and the same header, indexes and UDFs.
    assert records_of(ours) == records_of(theirs) and set(records_of(ours)) == loaded
    assert [f.read_text().split("\n+ ", 1)[0] for f in ours] == [f.read_text().split("\n+ ", 1)[0] for f in theirs]
    assert asbkit.validate(str(tmp_path / "lib"), deep=True).findings == 0


def test_restore_and_verify_as_calls(loaded: set[bytes], host_client: Any, tmp_path: Path) -> None:
    d = tmp_path / "bk"
    host, port = split_addr(HOST or "")
    asbkit.backup(asbkit.ClusterConfig(hosts=host, port=port), asbkit.BackupOptions(namespace=NS, sets=[SET], directory=str(d)))
    host_client.truncate(NS, SET, 0)
    time.sleep(0.5)
    progress: list[asbkit.RestoreProgress] = []
    r = asbkit.restore(f"{host}:{port}", directory=str(d), on_progress=progress.append)
    assert isinstance(r, asbkit.RestoreReport) and (r.records_read, r.inserted, r.failed) == (N, N, 0)
    assert progress and progress[-1].counts.read == N and progress[-1].total_bytes > 0
    v = asbkit.verify(pairs(), asbkit.RestoreOptions(directory=str(d)))
    assert isinstance(v, asbkit.VerifyReport) and (v.same, v.findings) == (N, 0)
    # The CLI says the same of the same backup.
    p = cli("verify", str(d), "--output", "json")
    assert p.returncode == 0 and f'"same": {N}' in p.stdout
    host_client.remove((NS, SET, 5))
    v = asbkit.verify(pairs(), directory=str(d))
    assert (v.missing, v.findings) == (1, 1) and v.differences[0].key == "I:5"
    assert asbkit.restore(pairs(), directory=str(d), unique=True).inserted == 1


def test_errors_are_typed_and_carry_their_report(loaded: set[bytes], tmp_path: Path) -> None:
    with pytest.raises(asbkit.NamespaceNotFound) as e:
        asbkit.backup(pairs(), namespace="nosuchns", directory=str(tmp_path / "x"))
    assert isinstance(e.value.report, asbkit.BackupReport) and e.value.report.server_version
    assert not (tmp_path / "x").exists()
    with pytest.raises(asbkit.ClusterUnreachable):
        asbkit.backup([("127.0.0.1", 1)], namespace=NS, directory=str(tmp_path / "y"))
    with pytest.raises(asbkit.BadOption, match="-w/--parallel"):
        asbkit.backup(pairs(), namespace=NS, directory=str(tmp_path / "z"), parallel=0)
    with pytest.raises(asbkit.InputUnreadable):
        asbkit.restore(pairs(), directory=str(tmp_path / "missing"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.asb").write_text("")
    with pytest.raises(asbkit.OutputExists):
        asbkit.backup(pairs(), namespace=NS, directory=str(tmp_path / "full"))


def test_a_cancel_stops_a_backup_and_its_state_continues_it(loaded: set[bytes], tmp_path: Path) -> None:
    cancel = asbkit.Cancel()
    d = tmp_path / "bk"
    timer = threading.Timer(1.0, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(asbkit.Interrupted) as e:
        asbkit.backup(pairs(), namespace=NS, sets=[SET], directory=str(d), records_per_second=500, cancel=cancel)
    assert time.monotonic() - started < 3
    report = e.value.report
    assert isinstance(report, asbkit.BackupReport) and report.interrupted and report.state_file
    done = asbkit.backup(pairs(), namespace=NS, sets=[SET], directory=str(d), continue_from=report.state_file)
    assert done.records == N and set(records_of(asb_files(d))) == loaded

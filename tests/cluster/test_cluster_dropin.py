"""Drop-in fidelity and trust against a real one-node server (issue 15): what C users'
scripts parse, what a backup proves, and what a new user trips on. Records live in sets of
namespace `test` of this module's own; the indexes it makes, it drops."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from asbkit import BackupOptions, ClusterConfig, validate

from ..helpers.cluster_data import C_LOG, HOST, asb_files, fresh_set, needs_host, records_of, split_addr, truncate
from ..helpers.results import result_of

pytestmark = [pytest.mark.cluster, needs_host, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
NS = "test"
SET = "dropin"
N = 2000
#: Any of the C tools' log lines: time in GMT, level, thread id, message.
C_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT \[(INF|ERR|VER)\] \[[ \d]{4}\d\] .*$")


@pytest.fixture(scope="module")
def client(host_client: Any) -> Any:
    return host_client


@pytest.fixture(scope="module")
def loaded(client: Any) -> set[bytes]:
    return fresh_set(client, NS, SET, N, payload=300)


def addr() -> tuple[str, int]:
    return split_addr(HOST or "")


def cli(command: str, *args: str) -> list[str]:
    h, p = addr()
    return [sys.executable, "-m", "asbkit", command, "-h", h, "-p", str(p), "--no-progress", *args]


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


# ---------------------------------------------------------------- 1. validate --deep FILE


def test_a_single_file_is_checked_against_its_own_manifest_under_any_name(loaded: set[bytes], tmp_path: Path) -> None:
    b = tmp_path / "b.asb"
    assert run(cli("backup", "-n", NS, "-s", SET, "-o", str(b))).returncode == 0
    assert result_of(validate, str(b), deep=True).ok
    # A copy under another name, cut at a record boundary: invalid, whatever sits beside it.
    t = tmp_path / "t.asb"
    text = b.read_bytes()
    t.write_bytes(text[: text.rindex(b"\n+ k ") + 1])
    shutil.copy(str(b) + ".manifest.json", str(t) + ".manifest.json")
    r = result_of(validate, str(t), deep=True)
    assert r.exit_code == 1 and r.data.deep is not None
    assert r.data.deep.finding_counts.get("manifest_mismatch", 0) >= 1
    assert all(f.path == str(t) for f in r.data.deep.findings)
    assert any("names the file b.asb; checked t.asb" in n for n in r.data.deep.notes)
    # Without b.asb nothing is said about a file the user never named.
    b.unlink()
    r = result_of(validate, str(t), deep=True)
    assert r.exit_code == 1 and "missing" not in " ".join(f.message for f in r.data.deep.findings)
    # An intact copy under another name is valid, and the name is said.
    t.write_bytes(text)
    p = run([sys.executable, "-m", "asbkit", "validate", "--deep", str(t)])
    assert p.returncode == 0 and "note: the manifest t.asb.manifest.json names the file b.asb" in p.stdout


# ---------------------------------------------------------------- 2. signals


def test_a_signal_stops_a_throttled_backup_within_a_second(loaded: set[bytes], tmp_path: Path) -> None:
    d = tmp_path / "bk"
    # 2,000 records at 200/s: the node sends them in one chunk after ten seconds.
    proc = subprocess.Popen(cli("backup", "-n", NS, "-s", SET, "-d", str(d), "-L", "200"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert took < 1.5, f"{took:.1f} s after SIGINT"
    assert proc.returncode == 1 and "interrupted" in err and (d / f"{NS}.asb.state").exists()
    assert not (d / f"{NS}.manifest.json").exists()
    done = run(cli("backup", "-n", NS, "-s", SET, "-d", str(d), "-c", str(d / f"{NS}.asb.state")))
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(records_of(asb_files(d))) == loaded


def test_a_stop_request_after_the_last_record_leaves_a_finished_backup(loaded: set[bytes], tmp_path: Path) -> None:
    """What the CLI's SIGINT does (it sets the call's Cancel), at the worst moment: a job
    has read all its partitions, the backup has not concluded."""
    import logging

    import asbkit

    cancel = asbkit.Cancel()

    class StopWhenAJobCompletes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("Completed backup for"):
                cancel.set()

    h, p = addr()
    hook = StopWhenAJobCompletes()
    logger = logging.getLogger("asbkit.backup")
    level = logger.level
    logger.addHandler(hook)
    logger.setLevel(logging.INFO)
    try:
        r = asbkit.backup(ClusterConfig(hosts=h, port=p), BackupOptions(namespace=NS, sets=[SET], directory=str(tmp_path / "bk")), cancel=cancel)
    finally:
        logger.removeHandler(hook)
        logger.setLevel(level)
    assert cancel.is_set()
    assert r.records == N and r.manifest and not r.interrupted
    assert result_of(validate, str(tmp_path / "bk"), deep=True).ok


# ---------------------------------------------------------------- 3. rates


def _timed(cmd: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    p = run(cmd)
    return p, time.monotonic() - start


def test_backup_nice_bounds_the_bytes_written(loaded: set[bytes], tmp_path: Path) -> None:
    # About 1 MiB of text at 1 MiB/s (from 4 jobs): not under about a second.
    p, took = _timed(cli("backup", "-n", NS, "-s", SET, "-d", str(tmp_path / "bk"), "-w", "4", "-N", "1"))
    assert p.returncode == 0, p.stderr
    size = sum(f.stat().st_size for f in asb_files(tmp_path / "bk"))
    assert took >= size / 2**20 * 0.9 - 0.05, (took, size)


def test_restore_tps_and_bandwidth_bound_the_whole_restore(loaded: set[bytes], tmp_path: Path) -> None:
    d = tmp_path / "bk"
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(d), "-w", "4", "-F", "1")).returncode == 0
    assert len(asb_files(d)) >= 2  # two readers share the rate
    p, took = _timed(cli("restore", "-d", str(d), "-N", "0,1000", "-t", "8"))
    assert p.returncode == 0, p.stderr
    assert took >= N / 1000 * 0.95, took
    size = sum(f.stat().st_size for f in asb_files(d))
    p, took = _timed(cli("restore", "-d", str(d), "-N", "1,0", "-t", "8"))
    assert p.returncode == 0, p.stderr
    assert took >= size / 2**20 * 0.95 - 0.05, (took, size)


# ---------------------------------------------------------------- 4. the C tools' log lines


def _skeleton(line: str) -> str:
    """A log line's message with numbers, paths and times taken out."""
    message = C_LINE.match(line) and line.split("] ", 2)[2] or line
    message = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+", "TIME", message)
    message = re.sub(r"/\S+", "PATH", message)
    return re.sub(r"\d+", "N", message)


def test_backup_and_restore_log_lines_are_in_the_c_tools_form(loaded: set[bytes], tmp_path: Path) -> None:
    backup_p = run(cli("backup", "-n", NS, "-s", SET, "-d", str(tmp_path / "bk"), "-L", "1500", "-v"))
    restore_p = run(cli("restore", "-d", str(tmp_path / "bk"), "-N", "0,1500"))
    for p in (backup_p, restore_p):
        assert p.returncode == 0, p.stderr
        lines = [line for line in p.stderr.splitlines() if line]
        assert lines and all(C_LINE.match(line) for line in lines), p.stderr
    assert re.search(C_LOG + r"Backed up 2000 record\(s\), 0 secondary index\(es\), \d+ UDF file\(s\), \d+ byte\(s\) in total \(~\d+ B/rec\)$", backup_p.stderr, re.M)
    assert re.search(C_LOG + r"\d+% complete \(~\d+ KiB/s, ~\d+ rec/s, ~\d+ B/rec\)$", backup_p.stderr, re.M)
    assert re.search(r"^\S+ \S+ GMT \[VER\] ", backup_p.stderr, re.M), "-v gives VER lines"
    assert re.search(C_LOG + r"Expired 0 : skipped 0 : err_ignored 0 : inserted \d+: failed \d+ \(existed 0 , fresher \d+\)$", restore_p.stderr, re.M)
    # An error is an ERR line.
    p = run(cli("restore", "-d", str(tmp_path / "nothing here")))
    assert p.returncode == 4 and re.search(r"^\S+ \S+ GMT \[ERR\] \[[ \d]{4}\d\] .*nothing here", p.stderr, re.M), p.stderr


@pytest.mark.skipif(not os.environ.get("ASBKIT_C_ASBACKUP") or not os.environ.get("ASBKIT_C_ASRESTORE"), reason="set ASBKIT_C_ASBACKUP and ASBKIT_C_ASRESTORE to C asbackup/asrestore 4.5.8")
def test_the_lines_c_prints_for_the_same_runs_are_there(loaded: set[bytes], tmp_path: Path) -> None:
    h, p = addr()
    common = ["-h", h, "-p", str(p)]
    runs = {
        "backup": (
            [os.environ["ASBKIT_C_ASBACKUP"], *common, "-n", NS, "-s", SET, "-d", str(tmp_path / "c"), "-L", "1500"],
            cli("backup", "-n", NS, "-s", SET, "-d", str(tmp_path / "a"), "-L", "1500"),
        ),
        "restore": (
            [os.environ["ASBKIT_C_ASRESTORE"], *common, "-d", str(tmp_path / "c"), "-N", "1000,1500"],
            cli("restore", "-d", str(tmp_path / "a"), "-N", "1000,1500"),
        ),
    }
    # C lines asbkit does not write: the C client's own, its file-by-file
    # restore chatter, and the index line of a set backup (asbkit's differs on purpose).
    not_ours = re.compile(r"\[srcPATH|restoring PATH|Opened backup file|Restoring records|Finished restoring|matched index")
    for what, (c_cmd, ours_cmd) in runs.items():
        c, ours = run(c_cmd), run(ours_cmd)
        assert c.returncode == 0 and ours.returncode == 0, (c.stderr, ours.stderr)
        assert all(C_LINE.match(line) for line in ours.stderr.splitlines() if line), ours.stderr
        want = {_skeleton(line) for line in c.stderr.splitlines() if C_LINE.match(line)}
        have = {_skeleton(line) for line in ours.stderr.splitlines()}
        missing = sorted(s for s in want - have if not not_ours.search(s))
        assert not missing, f"{what}: C says, asbkit does not: {missing}\nC:\n{c.stderr}\nasbkit:\n{ours.stderr}"


# ---------------------------------------------------------------- 6. --parent-directory


def test_parent_directory_is_joined_as_asrestore_joins_it(loaded: set[bytes], client: Any, tmp_path: Path) -> None:
    parent = tmp_path / "backups"
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(parent / "a"), "-M", "500")).returncode == 0
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(parent / "b"), "-a", "2000-01-01")).returncode == 0
    p = run(cli("restore", "--parent-directory", str(parent), "--directory-list", "a,/b", "--output", "json"))
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)["data"]
    assert sorted(Path(f).parent.name for f in data["files"]) == ["a", "b"]
    assert data["records_read"] == len(records_of(asb_files(parent / "a"))) + N


# ---------------------------------------------------------------- 8-10, 15. failures said once


def test_a_failure_before_the_first_write_says_only_the_error(loaded: set[bytes], tmp_path: Path) -> None:
    h, _ = addr()
    wrong_port = ["-h", h, "-p", "1", "--no-progress"]
    src = tmp_path / "src"
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(src), "-M", "10")).returncode == 0
    for cmd in (
        [sys.executable, "-m", "asbkit", "restore", *wrong_port, "-d", str(src)],
        cli("restore", "-d", str(src), "-n", f"{NS},nosuchns"),
        [sys.executable, "-m", "asbkit", "backup", *wrong_port, "-n", NS, "-d", str(tmp_path / "new")],
        cli("backup", "-n", "nosuchns", "-d", str(tmp_path / "new2")),
    ):
        p = run(cmd)
        assert p.returncode == 1, p.stderr
        assert "before stopping" not in p.stdout + p.stderr and "Backed up" not in p.stderr and "Expired" not in p.stderr
        assert re.search(r"\[ERR\] \[[ \d]{4}\d\] ", p.stderr), p.stderr
    # A backup that cannot connect creates nothing, and removes nothing (-r).
    assert not (tmp_path / "new").exists() and not (tmp_path / "new2").exists()
    kept = tmp_path / "kept.asb"
    kept.write_text("precious")
    p = run([sys.executable, "-m", "asbkit", "backup", *wrong_port, "-n", NS, "-o", str(kept), "-r"])
    assert p.returncode == 1 and kept.read_text() == "precious"


@pytest.mark.parametrize("case, code", [
    ("cannot connect", "cannot_connect"), ("namespace unknown", "namespace_not_found"), ("missing directory", "input_unreadable"),
    ("empty directory", "bad_input"), ("output exists", "output_exists"), ("bad option", "bad_option"),
])
def test_json_errors_name_their_cause(loaded: set[bytes], tmp_path: Path, case: str, code: str) -> None:
    h, _ = addr()
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.asb").write_text("")
    cmd = {
        "cannot connect": [sys.executable, "-m", "asbkit", "backup", "-h", h, "-p", "1", "-n", NS, "-d", str(tmp_path / "b"), "--output", "json"],
        "namespace unknown": cli("backup", "-n", "nosuchns", "-d", str(tmp_path / "b"), "--output", "json"),
        "missing directory": cli("restore", "-d", str(tmp_path / "missing"), "--output", "json"),
        "empty directory": cli("restore", "-d", str(tmp_path / "empty"), "--output", "json"),
        "output exists": cli("backup", "-n", NS, "-d", str(tmp_path / "full"), "--output", "json"),
        "bad option": cli("backup", "-n", NS, "-d", str(tmp_path / "b"), "-w", "0", "--output", "json"),
    }[case]
    p = run(cmd)
    doc = json.loads(p.stdout)
    assert doc["status"] == "error" and doc["errors"][0]["code"] == code, doc
    assert p.returncode == doc["exit_code"] == {"input_unreadable": 4, "bad_option": 2}.get(code, 1)


def test_an_input_that_cannot_be_read_exits_4_whichever_flag_named_it(tmp_path: Path) -> None:
    for flag in ("-d", "-i", "--directory-list"):
        p = run(cli("restore", flag, str(tmp_path / "missing")))
        assert p.returncode == 4, (flag, p.stderr)
    p = run(cli("restore", "--parent-directory", str(tmp_path), "--directory-list", "missing"))
    assert p.returncode == 4, p.stderr


def test_an_interrupted_restore_says_interrupted_in_json(loaded: set[bytes], tmp_path: Path) -> None:
    d = tmp_path / "bk"
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(d))).returncode == 0
    proc = subprocess.Popen(cli("restore", "-d", str(d), "-N", "0,300", "--output", "json"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    doc = json.loads(out)
    assert doc["errors"][0]["code"] == "interrupted" and proc.returncode == 1


# ---------------------------------------------------------------- 11. inspect


def test_inspect_of_a_truncated_file_gives_its_size_on_disk(loaded: set[bytes], tmp_path: Path) -> None:
    b = tmp_path / "b.asb"
    assert run(cli("backup", "-n", NS, "-s", SET, "-o", str(b))).returncode == 0
    t = tmp_path / "t.asb"
    t.write_bytes(b.read_bytes()[:250_000])
    p = run([sys.executable, "-m", "asbkit", "inspect", str(t)])
    assert p.returncode == 1 and "250,000 bytes on disk" in p.stdout + p.stderr, p.stdout + p.stderr


# ---------------------------------------------------------------- 12. verify names records


def test_verify_differences_name_set_and_user_key(loaded: set[bytes], client: Any, tmp_path: Path) -> None:
    d = tmp_path / "bk"
    assert run(cli("backup", "-n", NS, "-s", SET, "-d", str(d))).returncode == 0
    client.put((NS, SET, 7), {"i": -1})
    client.remove((NS, SET, 8))
    try:
        p = run(cli("verify", str(d)))
        assert p.returncode == 1
        assert re.search(rf"^  \S+ \(set {SET}, key I:7\): bin 'i' differs", p.stdout, re.M), p.stdout
        assert re.search(rf"^  \S+ \(set {SET}, key I:8\): missing on the cluster", p.stdout, re.M), p.stdout
    finally:
        assert run(cli("restore", "-d", str(d), "-g")).returncode == 0


# ---------------------------------------------------------------- 7. indexes without a set


@pytest.fixture
def indexes(client: Any) -> Any:
    """An index on the whole namespace and one on a set named `null`, dropped after. The
    namespace is emptied first (a backup of it all follows): this test comes last."""
    from ..helpers.cluster_data import truncate

    names = ("asbkit_noset", "asbkit_nullset")
    for name in names:
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")
    truncate(client, NS)
    client.put((NS, "null", "in-null"), {"jval": 7})
    client.put((NS, SET, "in-dropin"), {"ival": 5})
    client.put((NS, "null", "in-null-too"), {"ival": 5})
    client.info_all(f"sindex-create:namespace={NS};indexname=asbkit_noset;bin=ival;type=numeric")
    client.info_all(f"sindex-create:namespace={NS};set=null;indexname=asbkit_nullset;bin=jval;type=numeric")
    time.sleep(1)
    yield names
    for name in names:
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")
    client.remove((NS, "null", "in-null"))
    client.remove((NS, "null", "in-null-too"))


def _query(client: Any, set_name: str | None, bin_name: str, value: int) -> list[Any]:
    from aerospike import predicates

    q = client.query(NS, set_name)
    q.where(predicates.equals(bin_name, value))
    return q.results()


def test_an_index_on_no_set_and_one_on_a_set_named_null_come_back_as_they_were(client: Any, indexes: Any, tmp_path: Path) -> None:
    d = tmp_path / "bk"
    assert run(cli("backup", "-n", NS, "-d", str(d), "-u")).returncode == 0
    head = asb_files(d)[0].read_text().split("\n+ ", 1)[0] + "\n"
    assert f"* i {NS}  asbkit_noset N 1 ival N\n" in head
    assert f"* i {NS} null asbkit_nullset N 1 jval N\n" in head
    for name in indexes:
        client.info_all(f"sindex-delete:namespace={NS};indexname={name}")
    truncate(client, NS)
    p = run(cli("restore", "-d", str(d), "-w"))
    assert p.returncode == 0, p.stderr
    smd = client.info_random_node("smd-show:module=sindex").split("\t", 1)[1]
    assert f"{NS}||ival|.|I=asbkit_noset" in smd and f"{NS}|null|jval|.|I=asbkit_nullset" in smd, smd
    # A query on the whole namespace finds the index (and records of every set).
    found = _query(client, None, "ival", 5)
    assert {r[0][1] for r in found} == {SET, "null"}
    assert [(r[0][1], r[2]) for r in _query(client, "null", "jval", 7)] == [("null", {"jval": 7})]
